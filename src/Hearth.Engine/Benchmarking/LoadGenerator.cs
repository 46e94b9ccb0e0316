using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;

namespace Hearth.Engine.Benchmarking;

/// <summary>
/// Submits requests to a running <see cref="LlmEngine"/> (random prompt tokens, eos ignored so every request
/// generates exactly outputLen tokens), all at once or one after another, and measures throughput, time to first
/// token (TTFT) and inter-token latency (ITL). Shared by `Hearth.Bench load` and `hearth bench --concurrent`.
/// </summary>
public static class LoadGenerator
{
    /// <summary>One run's wall time and every request's TTFT and inter-token gaps, in milliseconds.</summary>
    public sealed record Result(double WallSeconds, IReadOnlyList<double> TtftMs, IReadOnlyList<double> ItlMs, int Requests, int OutputLen)
    {
        public double OutputTokPerS => (double)Requests * OutputLen / WallSeconds;

        public string Format(string label) => string.Create(CultureInfo.InvariantCulture,
            $"{label,-11} wall {WallSeconds:F2} s, output {OutputTokPerS:F1} tok/s, " +
            $"TTFT ms p50 {Percentile(TtftMs, 50):F0} p90 {Percentile(TtftMs, 90):F0} p99 {Percentile(TtftMs, 99):F0}, " +
            $"ITL ms p50 {Percentile(ItlMs, 50):F1} p90 {Percentile(ItlMs, 90):F1} p99 {Percentile(ItlMs, 99):F1}");
    }

    /// <summary>Starts an engine, warms it up with a batch of short requests, runs the prompts, and stops it.</summary>
    public static Result Run(LoadedModel loaded, IBackend backend, EngineOptions options, int[][] prompts, int outputLen, bool concurrently)
    {
        var engine = LlmEngine.Start(loaded, backend, options);
        try
        {
            // Warm-up, as wide as the measured batch and with prompts of its own (so nothing measured hits the prefix
            // cache): the first steps touch every weight page, compile the batched kernels' tiers (which would otherwise
            // compete with the measured run for a small machine's cores) and on a GPU load kernels and plans.
            int warmupRequests = concurrently ? Math.Min(prompts.Length, options.MaxNumSeqs) : 1;
            var warmupPrompts = RandomPrompts(warmupRequests, Math.Min(prompts[0].Length, 32), seed: 7, loaded.Model.VocabSize);
            Task.WhenAll(warmupPrompts.Select((p, i) => ConsumeAsync(engine, $"warmup{i}", p, 4, Stopwatch.StartNew(), [], [])))
                .GetAwaiter().GetResult();
            var ttft = new List<double>();
            var itl = new List<double>();
            var clock = Stopwatch.StartNew();
            if (concurrently)
            {
                // Asynchronous consumers, as the server's are: blocking a pool thread per request would starve the
                // pool on a small machine and measure thread injection instead of the engine.
                var tasks = prompts.Select((p, i) => ConsumeAsync(engine, $"c{i}", p, outputLen, clock, ttft, itl)).ToArray();
                Task.WhenAll(tasks).GetAwaiter().GetResult();
            }
            else
            {
                for (int i = 0; i < prompts.Length; i++) ConsumeAsync(engine, $"s{i}", prompts[i], outputLen, clock, ttft, itl).GetAwaiter().GetResult();
            }
            return new Result(clock.Elapsed.TotalSeconds, ttft, itl, prompts.Length, outputLen);
        }
        finally
        {
            engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static async Task ConsumeAsync(LlmEngine engine, string id, int[] prompt, int outputLen, Stopwatch clock, List<double> ttft, List<double> itl)
    {
        var request = new EngineRequest
        {
            RequestId = id,
            PromptTokenIds = prompt,
            Sampling = new SamplingParams { Temperature = 0 },
            MaxTokens = outputLen,
            IgnoreEos = true,
        };
        double start = clock.Elapsed.TotalMilliseconds, last = start;
        bool first = true;
        var gaps = new List<double>();
        double firstMs = 0;
        await foreach (var output in engine.GenerateAsync(request))
        {
            double now = clock.Elapsed.TotalMilliseconds;
            if (output.NewTokenIds.Count == 0) continue;
            if (first) firstMs = now - start;
            else gaps.Add(now - last);
            first = false;
            last = now;
        }
        lock (ttft)
        {
            ttft.Add(firstMs);
            itl.AddRange(gaps);
        }
    }

    /// <summary>The p-th percentile with linear interpolation between closest ranks; NaN for no values.</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>Ordinary (non-special) token ids only, so prompts never contain chat-control tokens.</summary>
    public static int[][] RandomPrompts(int count, int length, int seed, int vocabSize = 151_936)
    {
        var random = new Random(seed);
        int top = Math.Min(150_000, vocabSize);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(Math.Min(100, top - 1), top)).ToArray()).ToArray();
    }
}
