using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine;
using Hearth.Engine.Benchmarking;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;

namespace Hearth.Cli;

/// <summary>
/// `hearth bench --batch N` (N requests decoding together, aggregate tokens/s against the roofline of one step
/// reading the weights once plus every sequence's KV cache) and `--concurrent N` (N requests through the
/// threaded engine, as a server sees them: throughput, TTFT and ITL percentiles, by <see cref="LoadGenerator"/>).
/// </summary>
internal static class BenchBatchModes
{
    public static void Batch(LoadedModel loaded, IBackend backend, int batch, int prompt, int decode, int stepTokens,
        double utilization, double bandwidthGBps, long weightBytesPerStep)
    {
        var options = new EngineOptions
        {
            MaxNumSeqs = batch,
            MaxNumBatchedTokens = stepTokens,
            MaxModelLen = prompt + decode + 1,
            EnablePrefixCaching = false,
        };
        options = BackendFactory.WithKvCacheBudget(options, backend, loaded.Config, utilization);
        using var core = new EngineCore(loaded, backend, options);
        var greedy = new SamplingParams { Temperature = 0 };
        var random = new Random(7);
        int vocab = Math.Min(150_000, loaded.Model.VocabSize);
        // Warm-up at the same batch size: the bucket's eager steps, its graph capture and first replays happen here.
        for (int i = 0; i < batch; i++)
            core.Add(new EngineRequest { RequestId = $"w{i}", PromptTokenIds = RandomIds(random, 8, vocab), Sampling = greedy, MaxTokens = 8, IgnoreEos = true }, _ => { });
        while (core.Step()) { }

        var firstTimes = new double[batch];
        var lastTimes = new double[batch];
        bool anyFinished = false;
        var tokenTimes = new List<double>(batch * decode);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < batch; i++)
        {
            int index = i;
            bool seen = false;
            core.Add(new EngineRequest { RequestId = $"b{i}", PromptTokenIds = RandomIds(random, prompt, vocab), Sampling = greedy, MaxTokens = decode, IgnoreEos = true },
                output =>
                {
                    double now = clock.Elapsed.TotalSeconds;
                    if (!seen) { firstTimes[index] = now; seen = true; }
                    else tokenTimes.Add(now);
                    lastTimes[index] = now;
                    anyFinished |= output.IsFinished;
                });
        }
        // The step where the first sequence finishes is the last with all of them decoding: its graph, replayed back to
        // back right then, is the step the rate below describes. Later steps are outside the rate's window.
        Hearth.Engine.Runner.GraphReplayTiming? graph = null;
        bool timed = false;
        while (core.Step())
        {
            if (!anyFinished || timed) continue;
            graph = core.TimeDecodeGraph(batch, replays: 20);
            timed = true;
        }
        // Only steps where every sequence decodes count: from the last first token to the first last token.
        double tokPerS = Hearth.Engine.Benchmarking.FullBatchRate.TokensPerSecond(firstTimes, lastTimes, tokenTimes)
            ?? throw new Hearth.Core.HearthException($"no step had all {batch} sequences decoding; raise --decode-tokens or --prefill-tokens");
        double stepMs = 1000.0 * batch / tokPerS;
        double averageContext = prompt + decode / 2.0;
        long kvBytesPerStep = (long)(batch * averageContext * KvBytesPerToken(loaded.Config, backend));
        double rooflineStepMs = (weightBytesPerStep + kvBytesPerStep) / (bandwidthGBps * 1e9) * 1000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"decode batch {batch,-3} {tokPerS:F1} tok/s aggregate, {stepMs:F2} ms/step, context {prompt}..{prompt + decode} "
            + $"({rooflineStepMs / stepMs * 100:F1}% of the roofline step: weights once + {kvBytesPerStep / 1e9:F2} GB of KV in {rooflineStepMs:F2} ms)"));
        if (graph is not null)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"graph replay     bucket {graph.Bucket}: {graph.NumNodes} nodes, {graph.ReplayMs:F2} ms a replay back to back of a step with "
                + $"{graph.NumRealRows} sequences (cuGraphLaunch {graph.LaunchMs:F3} ms of host time); the engine's step adds {stepMs - graph.ReplayMs:F2} ms"));
    }

    public static void Concurrent(LoadedModel loaded, IBackend backend, int requests, int prompt, int output, int stepTokens, double utilization)
    {
        var options = new EngineOptions { MaxNumSeqs = requests, MaxNumBatchedTokens = stepTokens, MaxModelLen = prompt + output + 1 };
        options = BackendFactory.WithKvCacheBudget(options, backend, loaded.Config, utilization);
        var prompts = LoadGenerator.RandomPrompts(requests, prompt, seed: 42, loaded.Model.VocabSize);
        var result = LoadGenerator.Run(loaded, backend, options, prompts, output, concurrently: true);
        Console.WriteLine($"load             {requests} concurrent requests, input {prompt}, output {output}, max-num-seqs {requests}, engine thread");
        Console.WriteLine(result.Format("concurrent"));
    }

    private static double KvBytesPerToken(ModelConfig c, IBackend backend) =>
        2.0 * c.NumHiddenLayers * c.NumKeyValueHeads * c.HeadDim * backend.ActivationDType.ElementSizeBytes();

    private static int[] RandomIds(Random random, int count, int vocab) =>
        Enumerable.Range(0, count).Select(_ => random.Next(100, vocab)).ToArray();
}
