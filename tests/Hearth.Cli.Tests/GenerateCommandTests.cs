using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class GenerateCommandTests
{
    private const string Question = "What is the capital of France?";

    [Fact]
    public void Streams_the_greedy_answer_of_a_chat_prompt()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--chat", "--no-think", "--prompt", Question, "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("The capital of France is Paris.\n", result.StdoutText);
    }

    [Fact]
    public void Json_output_has_tokens_text_top_logprobs_and_finish_reason()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--chat", "--no-think", "--prompt", Question,
            "--temperature", "0", "--json", "--top-logprobs", "3");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var doc = JsonDocument.Parse(result.StdoutText);
        var root = doc.RootElement;
        Assert.Equal([785, 6722, 315, 9625, 374, 12095, 13, 151645], root.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal("The capital of France is Paris.", root.GetProperty("text").GetString());
        Assert.Equal("stop", root.GetProperty("finish_reason").GetString());
        var steps = root.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.Equal(8, steps.Count);
        Assert.All(steps, s => Assert.Equal(3, s.GetArrayLength()));
        Assert.Equal(785, steps[0][0].GetProperty("id").GetInt32());
    }

    [Fact]
    public void Tokens_file_and_max_tokens_give_finish_reason_length()
    {
        var file = Path.GetTempFileName();
        try
        {
            // The "poem" prompt of the parrot fixture, as ids.
            using var cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")));
            var poem = cases.RootElement.EnumerateArray().Single(c => c.GetProperty("id").GetString() == "poem");
            File.WriteAllText(file, poem.GetProperty("prompt_ids").GetRawText());
            var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--tokens-file", file, "--max-tokens", "4", "--temperature", "0", "--json");
            Assert.True(result.ExitCode == 0, result.Stderr);
            using var doc = JsonDocument.Parse(result.StdoutText);
            var expected = poem.GetProperty("response_ids").EnumerateArray().Take(4).Select(t => t.GetInt32());
            Assert.Equal(expected, doc.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
            Assert.Equal("length", doc.RootElement.GetProperty("finish_reason").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_seed_makes_sampling_reproducible()
    {
        string[] args = ["generate", "--model", RepoPaths.Parrot, "--prompt", "Once upon a time", "--temperature", "1.2", "--seed", "7", "--max-tokens", "12", "--json"];
        var first = CliProcess.Run(args);
        var second = CliProcess.Run(args);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(first.StdoutText, second.StdoutText);
    }

    [Theory]
    [InlineData("--prompt", "x", "--prompt-file", "/tmp/none.txt")]
    [InlineData("--think", "--no-think", "--prompt", "x")]
    public void Contradictory_options_fail_with_one_line(params string[] extra)
    {
        var result = CliProcess.Run(["generate", "--model", RepoPaths.Parrot, .. extra]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }
}
