using Hearth.Testing;

namespace Hearth.Cli.Tests;

/// <summary>--device and --gpu-memory-utilization on the commands that run a model (CI has no GPU).</summary>
public class DeviceOptionTests
{
    private const string Question = "What is the capital of France?";

    [Fact]
    public void Device_cpu_answers_without_a_warning()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "cpu", "--chat", "--no-think", "--prompt", Question, "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("The capital of France is Paris.\n", result.StdoutText);
        Assert.DoesNotContain("warning", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Device_auto_without_a_gpu_warns_once_and_answers_on_the_cpu()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "auto", "--chat", "--no-think", "--prompt", Question, "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("The capital of France is Paris.\n", result.StdoutText);
        if (result.Stderr.Length == 0) return; // a machine with a usable GPU: no fallback, no warning
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("warning: CUDA is unavailable: ", lines[0]);
        Assert.EndsWith("; running on the CPU", lines[0]);
    }

    [Fact]
    public void An_unknown_device_is_a_one_line_error()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "tpu", "--prompt", Question);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --device must be auto, cpu or cuda, not 'tpu'\n", result.Stderr);
    }

    [Fact]
    public void A_gpu_memory_utilization_above_one_is_a_one_line_error()
    {
        var result = CliProcess.Run("generate", "--model", RepoPaths.Parrot, "--device", "cpu", "--gpu-memory-utilization", "1.5", "--prompt", Question);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --gpu-memory-utilization must be in (0, 1], not 1.5\n", result.Stderr);
    }
}
