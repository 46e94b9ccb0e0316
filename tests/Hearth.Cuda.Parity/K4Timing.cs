using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The Q4_K ops of a Qwen3-14B Q4_K_M step on the compact layout (K4) against the G4 repack, in the same process
/// (Hearth.Cuda.Parity --k4-timing): q|k|v (all Q4_K, and Q4_K|Q4_K|Q6_K), o, gate|up + SiLU·mul (LinearSiluMul),
/// ffn_down (K4 with 4 and 8 warps a tile; G4 takes the cp.async ring there) and the token_embd lookup, each from a CUDA
/// graph over distinct copies of its weights (so nothing stays in L2), at 1, 8 and 32 rows; then GgufStepTiming's whole
/// step op by op with each layout.
/// </summary>
internal static class K4Timing
{
    private const int Hidden = 5120, Vocab = 151936, Replays = 20;

    public static void Run(CudaBackend cuda, bool wholeStep = true)
    {
        bool saved = cuda.UseCompactQ4K;
        int? savedWarps = cuda.K4Warps;
        Console.WriteLine($"Q4_K ops, compact K4 layout against the G4 repack (14B shape, random blocks, graph replay, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        try
        {
            using var memory = new BackendPair(cuda, cuda);
            using var host = new QuantHostMatrices(new RandomData(23));
            var ops = Q4KDecodeOps.Make(host);
            foreach (var (name, copies, make) in ops)
            {
                var hostCopies = Enumerable.Range(0, copies).Select(_ => make()).ToArray();
                var line = new List<string>();
                foreach (bool compact in new[] { false, true })
                {
                    cuda.UseCompactQ4K = compact;
                    long before = cuda.QuantizedWeightBytes;
                    var weights = hostCopies.Select(parts => new LinearWeight(parts.Select(cuda.UploadQuantized).ToArray())).ToArray();
                    long bytes = (cuda.QuantizedWeightBytes - before) / copies;
                    int k = weights[0].InFeatures, n = weights[0].OutFeatures;
                    bool silu = name.Contains("silu");
                    var parts = new List<string>();
                    int?[] warpVariants = compact && name.StartsWith("ffn_down", StringComparison.Ordinal) ? [4, 8] : [savedWarps];
                    foreach (int? warps in warpVariants)
                    foreach (int rows in new[] { 1, 8, 32 })
                    {
                        cuda.K4Warps = warps;
                        string variant = warps is { } w && warpVariants.Length > 1 ? $"{w}w " : "";
                        var x = memory.Zeros(cuda, new Shape(rows, k), DType.BF16);
                        var y = memory.Zeros(cuda, new Shape(rows, n), DType.BF16);
                        var act = memory.Zeros(cuda, new Shape(rows, n / 2), DType.BF16);
                        Action op = silu ? () => { foreach (var w in weights) ((IBackend)cuda).LinearSiluMul(x, w, y, act); }
                            : () => { foreach (var w in weights) cuda.Linear(x, w, y); };
                        double s = GraphTiming.SecondsPerReplay(cuda, op, Replays) / copies;
                        parts.Add($"{variant}m={rows} {s * 1e6:F1} us ({bytes / s / 1e9:F0} GB/s)");
                    }
                    cuda.K4Warps = savedWarps;
                    line.Add($"{(compact ? "K4" : "G4")} {bytes / 1e6:F1} MB: " + string.Join("  ", parts));
                }
                Console.WriteLine($"  {name,-28} " + string.Join("  |  ", line));
            }
            var lookupParts = new List<string>();
            var table = host.GgufRandomBytes(WeightFormat.Q4_K, Vocab, Hidden);
            foreach (bool compact in new[] { false, true })
            {
                cuda.UseCompactQ4K = compact;
                long before = cuda.QuantizedWeightBytes;
                var embedding = cuda.UploadQuantized(table);
                long bytes = cuda.QuantizedWeightBytes - before;
                foreach (int tokens in new[] { 1, 2048 })
                {
                    var ids = memory.Ints(cuda, Enumerable.Range(0, tokens).Select(i => i * 73 % Vocab).ToArray(), new Shape(tokens));
                    var rows = memory.Zeros(cuda, new Shape(tokens, Hidden), DType.BF16);
                    double s = GraphTiming.SecondsPerReplay(cuda, () => cuda.QuantizedEmbedding(embedding, ids, rows), Replays);
                    lookupParts.Add($"{(compact ? "K4" : "G4")} ({bytes / 1e6:F1} MB) {tokens} tokens {s * 1e6:F1} us");
                }
            }
            Console.WriteLine($"  token_embd Q4_K lookup       " + string.Join("  ", lookupParts));
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"  k4 timing failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            cuda.UseCompactQ4K = saved;
            cuda.K4Warps = savedWarps;
        }
        if (!wholeStep) return;
        foreach (bool compact in new[] { false, true })
        {
            cuda.UseCompactQ4K = compact;
            Console.WriteLine($"== whole Q4_K_M step with Q4_K as {(compact ? "K4 (compact)" : "G4 (session 8)")}:");
            GgufStepTiming.Run(cuda);
        }
        cuda.UseCompactQ4K = saved;
    }
}
