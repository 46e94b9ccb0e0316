using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// <see cref="SamplingReference.DrawWindow"/>, which the GPU parity runner uses to accept a sampled token: it must
/// accept what a float summation in 1024 chunks (the kernel's order) picks over a flat 151,936-token row, and
/// reject picks a wrong draw makes (off by a few dozen tokens, walking likeliest first, 1 - u).
/// </summary>
public class SamplingDrawWindowTests
{
    private const int Vocab = 151936;

    private static float[] Flat(int seed)
    {
        var random = new Random(seed);
        var weights = new float[Vocab];
        for (int i = 0; i < Vocab; i++) weights[i] = 0.9f + 0.2f * random.NextSingle();
        return weights;
    }

    // The kernel's draw: 1024 contiguous chunks summed in float, chunk sums chained in float, then a walk.
    private static int ChunkedFloatDraw(float[] weights, float u, int chunks = 1024)
    {
        int length = (weights.Length + chunks - 1) / chunks;
        var ends = new float[chunks];
        float chained = 0;
        for (int c = 0; c < chunks; c++)
        {
            float sum = 0;
            for (int i = c * length; i < Math.Min(weights.Length, (c + 1) * length); i++) sum += weights[i];
            ends[c] = chained += sum;
        }
        float target = u * chained;
        for (int c = 0; c < chunks; c++)
        {
            if (target >= ends[c]) continue;
            float running = c == 0 ? 0 : ends[c - 1];
            for (int i = c * length; i < Math.Min(weights.Length, (c + 1) * length); i++)
                if (target < (running += weights[i])) return i;
        }
        return weights.Length - 1;
    }

    private static int ExactDraw(float[] weights, float u)
    {
        double total = weights.Sum(w => (double)w), target = u * total, running = 0;
        for (int i = 0; i < weights.Length; i++)
            if (weights[i] > 0 && target < (running += weights[i])) return i;
        return Array.FindLastIndex(weights, w => w > 0);
    }

    [Fact]
    public void AFlatRowAcceptsTheChunkedFloatDrawAndOnlyAFewNeighbours()
    {
        var weights = Flat(3);
        var random = new Random(4);
        for (int trial = 0; trial < 40; trial++)
        {
            float u = random.NextSingle();
            var (first, last) = SamplingReference.DrawWindow(weights, u);
            int exact = ExactDraw(weights, u), chunked = ChunkedFloatDraw(weights, u);
            Assert.InRange(exact, first, last);
            Assert.InRange(chunked, first, last);
            Assert.InRange(last - first, 0, 40);
            Assert.False(exact + 60 >= first && exact + 60 <= last, "a pick 60 tokens off must be rejected");
        }
    }

    [Fact]
    public void WrongDrawsAreRejected()
    {
        var weights = Flat(5);
        foreach (float u in new[] { 0.1f, 0.37f, 0.566142f, 0.8f })
        {
            var (first, last) = SamplingReference.DrawWindow(weights, u);
            int reversed = ExactDraw(weights, 1 - u);
            Assert.False(reversed >= first && reversed <= last, $"1 - u picked {reversed}, inside [{first}, {last}]");
            // Walking likeliest first picks from the heavy end wherever u is.
            int[] order = Enumerable.Range(0, Vocab).OrderByDescending(i => weights[i]).ToArray();
            double target = u * weights.Sum(w => (double)w), running = 0;
            int likeliestFirst = order[^1];
            foreach (int i in order)
                if (target < (running += weights[i])) { likeliestFirst = i; break; }
            Assert.False(likeliestFirst >= first && likeliestFirst <= last, $"likeliest-first picked {likeliestFirst}, inside [{first}, {last}]");
        }
    }

    [Fact]
    public void ASmallKeptSetAllowsOnlyTheExactToken()
    {
        var random = new Random(6);
        var weights = new float[Vocab];
        for (int j = 0; j < 50; j++) weights[random.Next(Vocab)] = 0.01f + random.NextSingle();
        for (int trial = 0; trial < 50; trial++)
        {
            float u = random.NextSingle();
            var (first, last) = SamplingReference.DrawWindow(weights, u);
            int exact = ExactDraw(weights, u);
            Assert.InRange(exact, first, last);
            // Other kept tokens inside the window only when u sits within the rounding tolerance of a boundary.
            int keptInside = Enumerable.Range(first, last - first + 1).Count(i => weights[i] > 0);
            Assert.InRange(keptInside, 1, 2);
        }
    }
}
