using System.Globalization;
using System.Text.RegularExpressions;
using Hearth.Testing;

namespace Hearth.Cli.Tests;

public class BenchCommandTests
{
    [Fact]
    public void Batch_and_concurrent_modes_report_aggregate_throughput_and_latency_percentiles()
    {
        var result = CliProcess.Run("bench", "--model", RepoPaths.Parrot, "--device", "cpu", "--threads", "1", "--prompt-tokens", "24",
            "--decode-tokens", "6", "--batch", "4", "--concurrent", "5", "--output-tokens", "4");
        Assert.True(result.ExitCode == 0, result.Stderr);
        string stdout = result.StdoutText;
        var batch = Regex.Match(stdout, @"^decode batch 4\s+([0-9.]+) tok/s aggregate, ([0-9.]+) ms/step, context 24\.\.30", RegexOptions.Multiline);
        Assert.True(batch.Success, stdout);
        double tokPerS = double.Parse(batch.Groups[1].Value, CultureInfo.InvariantCulture), stepMs = double.Parse(batch.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(tokPerS > 0);
        Assert.Equal(4 * 1000 / tokPerS, stepMs, 0.1);   // four tokens a step
        Assert.Contains("load             5 concurrent requests, input 24, output 4", stdout);
        Assert.Matches(new Regex(@"^concurrent\s+wall [0-9.]+ s, output [0-9.]+ tok/s, TTFT ms p50 \d+ p90 \d+ p99 \d+, ITL ms p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+", RegexOptions.Multiline), stdout);
    }

    [Fact]
    public void A_batch_below_one_is_a_one_line_error()
    {
        var result = CliProcess.Run("bench", "--model", RepoPaths.Parrot, "--device", "cpu", "--batch", "0");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--batch must be >= 1", result.Stderr);
    }
}
