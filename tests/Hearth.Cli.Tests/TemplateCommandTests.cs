using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class TemplateCommandTests
{
    public static TheoryData<string> GoldenIds()
    {
        var data = new TheoryData<string>();
        foreach (var golden in LoadGoldens()) data.Add((string)golden["id"]!);
        return data;
    }

    private static IEnumerable<JsonObject> LoadGoldens() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Goldens, "chat-template-qwen3.json")))!.AsArray().Cast<JsonObject>();

    [Theory]
    [MemberData(nameof(GoldenIds))]
    public void Prints_exactly_the_prompt_transformers_renders(string id)
    {
        var golden = LoadGoldens().Single(g => (string)g["id"]! == id);
        var request = new JsonObject { ["messages"] = golden["messages"]!.DeepClone() };
        if (golden["tools"] is JsonArray tools) request["tools"] = tools.DeepClone();
        request["add_generation_prompt"] = golden["add_generation_prompt"]!.DeepClone();
        if (golden["enable_thinking"] is JsonValue thinking)
            request["chat_template_kwargs"] = new JsonObject { ["enable_thinking"] = thinking.DeepClone() };

        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, request.ToJsonString(), new UTF8Encoding(false));
            var result = CliProcess.Run("template", "--model", RepoPaths.Parrot, "--request", file);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal((string)golden["text"]!, result.StdoutText);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Content_given_as_text_parts_renders_like_a_string()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"chat_template_kwargs":{"enable_thinking":false}}""");
            var result = CliProcess.Run("template", "--model", RepoPaths.Parrot, "--request", file);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", result.StdoutText);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
