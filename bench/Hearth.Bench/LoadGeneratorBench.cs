using System.Diagnostics;
using System.Globalization;
using Hearth.Backends.Cpu;
using Hearth.Engine;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;

namespace Hearth.Bench;

/// <summary>
/// `load --model DIR [--requests 32] [--input-len 128] [--output-len 64] [--max-num-seqs 32] [--threads N] [--sequential]`:
/// submits N requests at once to the engine (random prompt tokens, eos ignored so every request generates
/// exactly output-len tokens) and reports throughput and the percentiles of time to first token (TTFT)
/// and inter-token latency (ITL). With --sequential it also runs them one after another and reports the ratio.
/// </summary>
public static class LoadGeneratorBench
{
    public static int Run(string[] args)
    {
        var options = BenchArgs.Parse(args);
        string model = options.Require("--model");
        int requests = options.Int("--requests", 32), inputLen = options.Int("--input-len", 128), outputLen = options.Int("--output-len", 64);
        int maxNumSeqs = options.Int("--max-num-seqs", requests);
        using var backend = new CpuBackend(options.Int("--threads", 0));
        int stepTokens = Math.Max(512, maxNumSeqs);
        using var loaded = ModelLoader.Load(model, backend, stepTokens, maxNumSeqs);
        var engineOptions = new EngineOptions { MaxNumSeqs = maxNumSeqs, MaxNumBatchedTokens = stepTokens, MaxModelLen = inputLen + outputLen + 1 };
        var prompts = RandomPrompts(requests, inputLen, seed: 42);

        Console.WriteLine($"model {Path.GetFileName(Path.GetFullPath(model))}, {requests} requests, input {inputLen}, output {outputLen}, max-num-seqs {maxNumSeqs}, threads {backend.NumThreads}");
        var concurrent = RunBatch(loaded, backend, engineOptions, prompts, outputLen, concurrently: true);
        Report("concurrent", concurrent, outputLen);
        if (options.Flag("--sequential"))
        {
            var sequential = RunBatch(loaded, backend, engineOptions, prompts, outputLen, concurrently: false);
            Report("sequential", sequential, outputLen);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"concurrent / sequential wall time: {concurrent.WallSeconds / sequential.WallSeconds:F3} ({sequential.WallSeconds / concurrent.WallSeconds:F1}x faster)"));
        }
        return 0;
    }

    private sealed record Timings(double WallSeconds, List<double> TtftMs, List<double> ItlMs, int Requests);

    private static Timings RunBatch(LoadedModel loaded, CpuBackend backend, EngineOptions engineOptions, int[][] prompts, int outputLen, bool concurrently)
    {
        var engine = LlmEngine.Start(loaded, backend, engineOptions);
        try
        {
            // Warm-up: the first step touches every weight page.
            ConsumeAsync(engine, "warmup", prompts[0], 2, Stopwatch.StartNew(), [], []).GetAwaiter().GetResult();
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
            return new Timings(clock.Elapsed.TotalSeconds, ttft, itl, prompts.Length);
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

    private static void Report(string label, Timings t, int outputLen)
    {
        double outputTokens = (double)t.Requests * outputLen;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label,-11} wall {t.WallSeconds:F2} s, output {outputTokens / t.WallSeconds:F1} tok/s, " +
            $"TTFT ms p50 {Percentile(t.TtftMs, 50):F0} p90 {Percentile(t.TtftMs, 90):F0} p99 {Percentile(t.TtftMs, 99):F0}, " +
            $"ITL ms p50 {Percentile(t.ItlMs, 50):F1} p90 {Percentile(t.ItlMs, 90):F1} p99 {Percentile(t.ItlMs, 99):F1}"));
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    // Ordinary (non-special) token ids only, so prompts never contain chat-control tokens.
    private static int[][] RandomPrompts(int count, int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(100, 150_000)).ToArray()).ToArray();
    }
}
