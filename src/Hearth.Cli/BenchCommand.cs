using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;
using Hearth.Models.Synthetic;

namespace Hearth.Cli;

/// <summary>
/// `hearth bench`: batch-1 decode speed next to the device's memory bandwidth measured in the same run, so the
/// result is a fraction of the bandwidth roofline; optionally the speed of one long prefill. Without --model it
/// uses a random-weight model of Qwen3-0.6B's shape (written once to ~/.cache/hearth/synthetic).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder (default: random weights of Qwen3-0.6B's shape)" };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length before decoding (the decode context)", DefaultValueFactory = _ => 128 };
        var decodeTokens = new Option<int>("--decode-tokens") { Description = "Tokens to decode", DefaultValueFactory = _ => 64 };
        var prefillTokens = new Option<int>("--prefill-tokens") { Description = "Also time prefills of one prompt this long (0: skip)" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var batch = new Option<int>("--batch") { Description = "Also decode this many requests together and report the aggregate tokens/s (1: skip)", DefaultValueFactory = _ => 1 };
        var concurrent = new Option<int>("--concurrent") { Description = "Also send this many requests at once through the engine thread: throughput, TTFT, ITL (0: skip)" };
        var outputTokens = new Option<int>("--output-tokens") { Description = "Tokens each --concurrent request generates", DefaultValueFactory = _ => 256 };
        var device = new DeviceOptions();
        var command = new Command("bench", "Measure batch-1 decode tokens/s against the memory-bandwidth roofline");
        foreach (var o in new Option[] { model, promptTokens, decodeTokens, prefillTokens, threads, batch, concurrent, outputTokens }) command.Options.Add(o);
        foreach (var o in device.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            int prompt = parse.GetValue(promptTokens), decode = parse.GetValue(decodeTokens), prefill = parse.GetValue(prefillTokens);
            int batchSize = parse.GetValue(batch), concurrentRequests = parse.GetValue(concurrent), concurrentOutput = parse.GetValue(outputTokens);
            if (prompt < 1 || decode < 2 || prefill < 0) throw new HearthException("--prompt-tokens must be >= 1, --decode-tokens >= 2 and --prefill-tokens >= 0");
            if (batchSize < 1 || concurrentRequests < 0 || concurrentOutput < 1) throw new HearthException("--batch must be >= 1, --concurrent >= 0 and --output-tokens >= 1");
            var directory = parse.GetValue(model) is { } given ? ModelPaths.RequireDirectory(given) : Synthetic();

            using var backend = device.CreateBackend(parse, parse.GetValue(threads) ?? 0);
            var inv = CultureInfo.InvariantCulture;
            double bandwidthGBps;
            string bandwidthWhat;
            if (backend is CudaBackend cuda)
            {
                bandwidthGBps = CudaBandwidth(cuda);
                bandwidthWhat = "device-to-device copy, bytes read + written";
                Console.WriteLine($"device           {cuda.DeviceName} ({cuda.Architecture}), NVRTC {cuda.NvrtcVersion}, cuBLASLt {cuda.CublasLtVersion}");
            }
            else
            {
                var cpu = (CpuBackend)backend;
                bandwidthGBps = MemoryBandwidth.MeasureReadGBps(cpu.NumThreads);
                bandwidthWhat = "read";
                Console.WriteLine(string.Create(inv, $"threads          {cpu.NumThreads} ({cpu.SimdLevel})"));
            }
            // The GPU takes a whole prompt in one step; the CPU keeps its usual chunk.
            int stepTokens = backend is CudaBackend ? Math.Max(256, Math.Max(prompt, prefill)) : 256;
            using var loaded = DeviceOptions.Load(directory, backend, stepTokens, maxLogitRows: Math.Max(batchSize, Math.Max(1, concurrentRequests)));
            var options = new EngineOptions
            {
                MaxNumSeqs = 1,
                MaxNumBatchedTokens = stepTokens,
                MaxModelLen = Math.Max(prompt + decode, prefill) + 1,
                EnablePrefixCaching = false,
                KvCacheDType = device.KvCacheDTypeOf(parse),
            };
            options = BackendFactory.WithKvCacheBudget(options, backend, loaded.Config, parse.GetValue(device.GpuMemoryUtilization));
            Console.WriteLine(DeviceOptions.DescribeKvBudget(backend, loaded.Config, options, parse.GetValue(device.GpuMemoryUtilization)));
            Result result;
            double prefillTokPerS;
            Hearth.Engine.Runner.GraphReplayTiming? batchOneGraph;
            (long Hits, long Misses) runAhead;
            using (var core = new EngineCore(loaded, backend, options))
            {
                Console.WriteLine(core.KvCachePlan.Describe());
                long hitsBefore = core.RunAheadHits, missesBefore = core.RunAheadMisses;
                result = Run(core, loaded, prompt, decode);
                runAhead = (core.RunAheadHits - hitsBefore, core.RunAheadMisses - missesBefore);
                batchOneGraph = core.TimeDecodeGraph(1, replays: 20);
                prefillTokPerS = prefill > 0 ? Prefill(core, loaded, prefill) : 0;
            }
            long bytesPerToken = loaded.Model is Hearth.Models.Qwen3.Qwen3Model qwen3 ? StreamedBytesPerToken(qwen3.Weights) : DecodeBytesPerToken(loaded.Config);
            double rooflineTokPerS = bandwidthGBps * 1e9 / bytesPerToken;

            Console.WriteLine(string.Create(inv, $"model            {Path.GetFileName(directory)} ({loaded.Config.NumHiddenLayers} layers, hidden {loaded.Config.HiddenSize}, {loaded.Config.DType})"));
            Console.WriteLine(string.Create(inv, $"bandwidth        {bandwidthGBps:F1} GB/s ({bandwidthWhat}, measured now)"));
            Console.WriteLine(string.Create(inv, $"weights/token    {bytesPerToken / 1e6:F1} MB streamed per decoded token"));
            Console.WriteLine(string.Create(inv, $"prefill          {prompt} tokens in {result.PrefillSeconds * 1000:F0} ms = {prompt / result.PrefillSeconds:F1} tok/s (first request, includes warm-up effects)"));
            if (prefill > 0)
                Console.WriteLine(string.Create(inv, $"prefill {prefill,-8} {prefillTokPerS:F1} tok/s (median of 3 warm runs, one prompt of {prefill} tokens)"));
            Console.WriteLine(string.Create(inv, $"decode           {result.DecodeTokPerS:F2} tok/s at batch 1, context {prompt}..{prompt + decode} ({1000 / result.DecodeTokPerS:F2} ms/token)"));
            Console.WriteLine(string.Create(inv, $"roofline         {rooflineTokPerS:F2} tok/s -> {result.DecodeTokPerS / rooflineTokPerS * 100:F1}% of the bandwidth roofline"));
            if (runAhead.Hits + runAhead.Misses > 0)
                Console.WriteLine(string.Create(inv, $"run-ahead        {runAhead.Hits} decode steps were already running when scheduled, {runAhead.Misses} ran ahead in vain (warm-up included)"));
            if (batchOneGraph is { } g)
                Console.WriteLine(string.Create(inv, $"graph replay     bucket 1: {g.NumNodes} nodes, {g.ReplayMs:F2} ms a replay back to back "
                    + $"(cuGraphLaunch {g.LaunchMs:F3} ms of host time); the engine's step adds {1000 / result.DecodeTokPerS - g.ReplayMs:F2} ms"));
            double utilization = parse.GetValue(device.GpuMemoryUtilization);
            if (batchSize > 1) BenchBatchModes.Batch(loaded, backend, batchSize, prompt, decode, stepTokens, utilization, bandwidthGBps, bytesPerToken);
            if (concurrentRequests > 0) BenchBatchModes.Concurrent(loaded, backend, concurrentRequests, prompt, concurrentOutput, Math.Max(stepTokens, concurrentRequests), utilization);
            return 0;
        });
        return command;
    }

    private sealed record Result(double PrefillSeconds, double DecodeTokPerS);

    private static int[] RandomIds(LoadedModel loaded, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(100, Math.Min(150_000, loaded.Model.VocabSize))).ToArray();
    }

    private static Result Run(EngineCore core, LoadedModel loaded, int prompt, int decode)
    {
        var ids = RandomIds(loaded, prompt, 1);
        var times = new List<double>();
        var clock = new Stopwatch();
        // A short warm-up run touches every weight page, JIT-compiles the hot paths, and captures and judges the batch-1
        // decode graph: left to the timed run, the capture and the judging's four extra step runs (about 50 ms on a 14B
        // model) added 0.4 ms to each of 127 timed steps.
        int warmupTokens = Hearth.Engine.Runner.ModelRunner.DecodeStepsBeforeSteadyState + 2;
        core.Add(new EngineRequest { RequestId = "warmup", PromptTokenIds = ids[..Math.Min(8, ids.Length)], Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = warmupTokens, IgnoreEos = true }, _ => { });
        while (core.Step()) { }
        core.Add(new EngineRequest { RequestId = "bench", PromptTokenIds = ids, Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = decode, IgnoreEos = true },
            _ => times.Add(clock.Elapsed.TotalSeconds));
        clock.Start();
        while (core.Step()) { }
        double decodeSeconds = times[^1] - times[0];
        return new Result(times[0], (times.Count - 1) / decodeSeconds);
    }

    /// <summary>Tokens/s of one prompt's prefill (to its first token), the median of three runs after a warm-up.</summary>
    private static double Prefill(EngineCore core, LoadedModel loaded, int tokens)
    {
        var seconds = new List<double>();
        for (int run = 0; run < 4; run++)
        {
            var ids = RandomIds(loaded, tokens, 100 + run);
            var clock = Stopwatch.StartNew();
            double first = 0;
            core.Add(new EngineRequest { RequestId = "prefill" + run, PromptTokenIds = ids, Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = 1, IgnoreEos = true },
                _ => first = clock.Elapsed.TotalSeconds);
            while (core.Step()) { }
            if (run > 0) seconds.Add(first);
        }
        seconds.Sort();
        return tokens / seconds[seconds.Count / 2];
    }

    /// <summary>Device-to-device copy rate of a 1 GiB buffer in GB/s, counting the bytes read and written.</summary>
    private static double CudaBandwidth(CudaBackend cuda)
    {
        const int Bytes = 1 << 30;
        using var a = cuda.Allocate(Bytes);
        using var b = cuda.Allocate(Bytes);
        var source = a.AsTensor(DType.U8, new Shape(Bytes));
        var destination = b.AsTensor(DType.U8, new Shape(Bytes));
        cuda.CopyDeviceToDevice(source, destination);
        cuda.Synchronize();
        const int Repeats = 10;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Repeats; i++) cuda.CopyDeviceToDevice(source, destination);
        cuda.Synchronize();
        return 2.0 * Bytes * Repeats / clock.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>Bytes of weights one decode step reads: every projection, the norms, and the lm_head (not the embedding table).</summary>
    /// <summary>
    /// The bytes one decoded token reads: every projection as stored (quantized blocks, scales and zero points
    /// included), the norms and the lm_head; not the embedding table, of which one row is read.
    /// </summary>
    private static long StreamedBytesPerToken(Hearth.Models.Qwen3.Qwen3Weights w)
    {
        static long Linear(Hearth.Backends.LinearWeight l) => (l.Bias?.SizeBytes ?? 0) + (l.IsQuantized
            ? l.QuantizedParts.Sum(q => q.Data.SizeBytes + (q.Scales?.SizeBytes ?? 0) + (q.Zeros?.SizeBytes ?? 0))
            : l.Parts.Sum(p => p.SizeBytes));
        long bytes = Linear(w.LmHead) + w.FinalNorm.SizeBytes;
        foreach (var layer in w.Layers)
        {
            bytes += Linear(layer.Qkv) + Linear(layer.O) + Linear(layer.GateUp) + Linear(layer.Down)
                + layer.InputLayerNorm.SizeBytes + layer.PostAttentionLayerNorm.SizeBytes
                + (layer.QueryNorm?.SizeBytes ?? 0) + (layer.KeyNorm?.SizeBytes ?? 0);
        }
        return bytes;
    }

    private static long DecodeBytesPerToken(ModelConfig c)
    {
        long perLayer = (long)c.HiddenSize * (c.NumAttentionHeads + 2 * c.NumKeyValueHeads) * c.HeadDim
            + (long)c.NumAttentionHeads * c.HeadDim * c.HiddenSize
            + 3L * c.HiddenSize * c.IntermediateSize
            + 2L * c.HiddenSize + 2L * c.HeadDim;
        long elements = perLayer * c.NumHiddenLayers + (long)c.VocabSize * c.HiddenSize + c.HiddenSize;
        return elements * (c.DType ?? DType.BF16).ElementSizeBytes();
    }

    private static string Synthetic()
    {
        Console.Error.WriteLine("writing/reusing a random-weight model of Qwen3-0.6B's shape in the cache ...");
        return SyntheticCheckpoint.Cached(SyntheticModels.Qwen3_0_6B);
    }
}
