using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hearth.Backends.Cpu;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;
using Hearth.Models.Synthetic;

namespace Hearth.Cli;

/// <summary>
/// `hearth bench`: batch-1 decode speed on the CPU, next to the machine's measured read bandwidth, so the
/// result is a fraction of the bandwidth roofline measured in the same run. Without --model it uses a
/// random-weight model of Qwen3-0.6B's shape (written once to ~/.cache/hearth/synthetic).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder (default: random weights of Qwen3-0.6B's shape)" };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length", DefaultValueFactory = _ => 128 };
        var decodeTokens = new Option<int>("--decode-tokens") { Description = "Tokens to decode", DefaultValueFactory = _ => 64 };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var command = new Command("bench", "Measure batch-1 decode tokens/s against the memory-bandwidth roofline");
        foreach (var o in new Option[] { model, promptTokens, decodeTokens, threads }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            int prompt = parse.GetValue(promptTokens), decode = parse.GetValue(decodeTokens);
            if (prompt < 1 || decode < 2) throw new HearthException("--prompt-tokens must be >= 1 and --decode-tokens >= 2");
            int numThreads = parse.GetValue(threads) ?? 0;
            var directory = parse.GetValue(model) is { } given ? ModelPaths.RequireDirectory(given) : Synthetic();

            using var backend = new CpuBackend(numThreads);
            double bandwidthGBps = MemoryBandwidth.MeasureReadGBps(backend.NumThreads);
            using var loaded = ModelLoader.Load(directory, backend, maxTokensPerStep: 256, maxLogitRows: 1);
            var result = Run(loaded, backend, prompt, decode);
            long bytesPerToken = DecodeBytesPerToken(loaded.Config);
            double rooflineTokPerS = bandwidthGBps * 1e9 / bytesPerToken;

            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"model            {Path.GetFileName(directory)} ({loaded.Config.NumHiddenLayers} layers, hidden {loaded.Config.HiddenSize}, {loaded.Config.DType})"));
            Console.WriteLine(string.Create(inv, $"threads          {backend.NumThreads} ({backend.SimdLevel})"));
            Console.WriteLine(string.Create(inv, $"read bandwidth   {bandwidthGBps:F1} GB/s (measured now)"));
            Console.WriteLine(string.Create(inv, $"weights/token    {bytesPerToken / 1e6:F1} MB streamed per decoded token"));
            Console.WriteLine(string.Create(inv, $"prefill          {prompt} tokens in {result.PrefillSeconds * 1000:F0} ms = {prompt / result.PrefillSeconds:F1} tok/s"));
            Console.WriteLine(string.Create(inv, $"decode           {result.DecodeTokPerS:F2} tok/s at batch 1 ({1000 / result.DecodeTokPerS:F1} ms/token)"));
            Console.WriteLine(string.Create(inv, $"roofline         {rooflineTokPerS:F2} tok/s -> {result.DecodeTokPerS / rooflineTokPerS * 100:F1}% of the bandwidth roofline"));
            return 0;
        });
        return command;
    }

    private sealed record Result(double PrefillSeconds, double DecodeTokPerS);

    private static Result Run(LoadedModel loaded, CpuBackend backend, int prompt, int decode)
    {
        var random = new Random(1);
        var ids = Enumerable.Range(0, prompt).Select(_ => random.Next(100, Math.Min(150_000, loaded.Model.VocabSize))).ToArray();
        var options = new EngineOptions { MaxNumSeqs = 1, MaxNumBatchedTokens = 256, MaxModelLen = prompt + decode + 1, EnablePrefixCaching = false };
        using var core = new EngineCore(loaded, backend, options);
        var times = new List<double>();
        var clock = new Stopwatch();
        // A short warm-up run touches every weight page and JIT-compiles the hot paths.
        core.Add(new EngineRequest { RequestId = "warmup", PromptTokenIds = ids[..Math.Min(8, ids.Length)], Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = 2, IgnoreEos = true }, _ => { });
        while (core.Step()) { }
        core.Add(new EngineRequest { RequestId = "bench", PromptTokenIds = ids, Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = decode, IgnoreEos = true },
            _ => times.Add(clock.Elapsed.TotalSeconds));
        clock.Start();
        while (core.Step()) { }
        double decodeSeconds = times[^1] - times[0];
        return new Result(times[0], (times.Count - 1) / decodeSeconds);
    }

    /// <summary>Bytes of weights one decode step reads: every projection, the norms, and the lm_head (not the embedding table).</summary>
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
