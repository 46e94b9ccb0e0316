using Hearth.Engine.Benchmarking;

namespace Hearth.Engine.Tests.Core;

public class FullBatchRateTests
{
    // Three sequences admitted one a step (step = 10 ms), each decoding 6 tokens: the whole batch decodes only
    // from the third one's first token (t = 20 ms) to the first one's last token (t = 50 ms).
    private static (double[] First, double[] Last, List<double> Later) Staggered()
    {
        const double Step = 0.010;
        var first = new double[3];
        var last = new double[3];
        var later = new List<double>();
        for (int s = 0; s < 3; s++)
        {
            first[s] = s * Step;
            for (int k = 1; k < 6; k++) later.Add((s + k) * Step);
            last[s] = (s + 5) * Step;
        }
        return (first, last, later);
    }

    [Fact]
    public void Only_steps_with_the_whole_batch_decoding_count()
    {
        var (first, last, later) = Staggered();
        // Steps at 30, 40 and 50 ms each give 3 tokens in 30 ms: 300 tokens/s. The ramps (1 or 2 tokens a step) do not count.
        Assert.Equal(300.0, FullBatchRate.TokensPerSecond(first, last, later)!.Value, 6);
    }

    [Fact]
    public void No_full_batch_step_gives_null()
    {
        // Each sequence finishes before the next one starts.
        Assert.Null(FullBatchRate.TokensPerSecond([0.0, 1.0], [0.5, 1.5], [0.2, 0.5, 1.2, 1.5]));
    }
}
