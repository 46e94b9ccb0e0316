using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class CliErrorTests
{
    private static void AssertOneLineError(CliProcess.Result result, string expectedFragment)
    {
        Assert.NotEqual(0, result.ExitCode);
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.Contains(expectedFragment, lines[0]);
        // A stack trace would show frames ("   at Namespace.Type.Method") and exception type names.
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_model_folder_is_one_line()
    {
        var file = Path.GetTempFileName();
        try
        {
            AssertOneLineError(CliProcess.Run("tokenize", "--model", "/nonexistent/model", "--file", file), "/nonexistent/model");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_missing_input_file_is_one_line()
    {
        AssertOneLineError(CliProcess.Run("tokenize", "--model", RepoPaths.Parrot, "--file", "/nonexistent/input.txt"), "/nonexistent/input.txt");
    }

    [Fact]
    public void A_folder_without_tokenizer_files_is_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("hearth-empty-model");
        var file = Path.GetTempFileName();
        try
        {
            AssertOneLineError(CliProcess.Run("tokenize", "--model", dir.FullName, "--file", file), "tokenizer.json");
        }
        finally
        {
            dir.Delete(true);
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("{\"messages\": [", "JSON")]
    [InlineData("{\"nothing\": 1}", "messages")]
    [InlineData("[1, 2]", "object")]
    public void A_corrupt_request_is_one_line(string content, string fragment)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, content);
            AssertOneLineError(CliProcess.Run("template", "--model", RepoPaths.Parrot, "--request", file), fragment);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_corrupt_tokenizer_json_is_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("hearth-corrupt-model");
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": ");
            AssertOneLineError(CliProcess.Run("tokenize", "--model", dir.FullName, "--file", file), "tokenizer.json");
        }
        finally
        {
            dir.Delete(true);
            File.Delete(file);
        }
    }
}
