using System.Diagnostics;
using Hearth.Engine.Core;

namespace Hearth.Engine.Tests.Core;

public class StepProfileTests
{
    [Fact]
    public void Each_batch_size_gets_its_mean_per_phase_and_the_gap_between_steps()
    {
        var profile = new StepProfile();
        for (int step = 0; step < 2; step++)
        {
            profile.BeginDecodeStep(32, Stopwatch.GetTimestamp());
            profile.Mark(StepPhase.Schedule);
            Thread.Sleep(20);
            profile.Mark(StepPhase.Wait);
            profile.EndStep(wasDecodeStep: true);
        }
        // A prefill step in between is not profiled and does not count as time outside the engine.
        profile.EndStep(wasDecodeStep: false);
        profile.BeginDecodeStep(1, Stopwatch.GetTimestamp());
        profile.Mark(StepPhase.Launch);
        profile.EndStep(wasDecodeStep: true);

        var lines = profile.Format().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("step profile, decode batch 1 (1 steps)", lines[0]);
        Assert.StartsWith("step profile, decode batch 32 (2 steps)", lines[1]);
        double wait = Phase(lines[1], "wait"), total = Phase(lines[1], "total");
        Assert.InRange(wait, 19.0, 39.0); // each step slept 20 ms in its wait phase: the mean (the sum is at least 40)
        Assert.True(total >= wait);
        Assert.Equal(0.0, Phase(lines[0], "outside"), 3);
    }

    private static double Phase(string line, string name)
    {
        var parts = line.Replace(",", " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int i = Array.IndexOf(parts, name);
        return double.Parse(parts[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
