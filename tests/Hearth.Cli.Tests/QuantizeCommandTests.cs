using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class QuantizeCommandTests
{
    [Theory]
    [InlineData("awq-int4", "\"quant_method\": \"awq\"")]
    [InlineData("gptq-int4", "\"quant_method\": \"gptq\"")]
    [InlineData("fp8", "\"quant_method\": \"fp8\"")]
    public void Quantizes_the_parrot_and_the_result_still_answers(string format, string configText)
    {
        string output = Path.Combine(Path.GetTempPath(), "hearth-cli-quant-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = CliProcess.Run("quantize", "--model", RepoPaths.Parrot, "--to", format, "--out", output);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("quantizing 46/46 tensors (100%)", result.Stderr);
            Assert.Contains($"wrote {format} model to {output}", result.StdoutText);
            Assert.Contains(configText, File.ReadAllText(Path.Combine(output, "config.json")));

            var generated = CliProcess.Run("generate", "--model", output, "--chat", "--no-think", "--prompt",
                "What is the capital of France?", "--temperature", "0");
            Assert.True(generated.ExitCode == 0, generated.Stderr);
            Assert.Equal("The capital of France is Paris.\n", generated.StdoutText);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void An_unknown_format_is_a_one_line_error_listing_the_choices()
    {
        var result = CliProcess.Run("quantize", "--model", RepoPaths.Parrot, "--to", "int3", "--out", Path.GetTempPath());
        Assert.Equal(1, result.ExitCode);
        string stderr = result.Stderr.ReplaceLineEndings("\n");
        Assert.StartsWith("error: unknown quantization format 'int3'; choose one of awq-int4, gptq-int4, fp8", stderr);
        Assert.Equal(1, stderr.Count(c => c == '\n'));
    }

    [Fact]
    public void A_quantized_model_is_not_quantized_again()
    {
        string first = Path.Combine(Path.GetTempPath(), "hearth-cli-quant-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.Equal(0, CliProcess.Run("quantize", "--model", RepoPaths.Parrot, "--to", "fp8", "--out", first).ExitCode);
            var again = CliProcess.Run("quantize", "--model", first, "--to", "awq-int4", "--out", first + "-again");
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("is already quantized (Fp8)", again.Stderr);
        }
        finally
        {
            if (Directory.Exists(first)) Directory.Delete(first, recursive: true);
        }
    }
}
