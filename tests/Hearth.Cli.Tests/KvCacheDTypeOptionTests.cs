using Hearth.Testing;

namespace Hearth.Cli.Tests;

/// <summary>--kv-cache-dtype on the commands that run a model (CI has no GPU, so the CPU backend's fp8 cache).</summary>
public class KvCacheDTypeOptionTests
{
    private const string Question = "What is the capital of France?";

    [Fact]
    public void Generate_answers_from_an_fp8_kv_cache()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "cpu", "--kv-cache-dtype", "fp8", "--chat", "--no-think",
            "--prompt", Question, "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("The capital of France is Paris.\n", result.StdoutText);
    }

    [Fact]
    public void An_unknown_kv_cache_dtype_is_a_one_line_error()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "cpu", "--kv-cache-dtype", "int3", "--prompt", Question);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --kv-cache-dtype must be auto, bf16 or fp8, not 'int3'\n", result.Stderr);
    }
}
