using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The Q6_K ops of a Qwen3-14B Q4_K_M step on the compact layout (G6) against the G8 repack, in the same process
/// (Hearth.Cuda.Parity --q6c-timing): attn_v alone, the Q4_K|Q4_K|Q6_K q|k|v, ffn_down and the lm_head (f32 logits,
/// and with the greedy pick), each from a CUDA graph over distinct copies of its weights (so nothing stays in L2), at
/// 1, 8 and 32 rows; then GgufStepTiming's whole step op by op with each layout.
/// </summary>
internal static class G6Timing
{
    private const int Hidden = 5120, Inter = 17408, QRows = 5120, KvRows = 1024, Vocab = 151936, Replays = 20;

    public static void Run(CudaBackend cuda)
    {
        bool saved = cuda.UseCompactQ6K;
        int? savedWarps = cuda.G6Warps;
        Console.WriteLine($"Q6_K ops, compact G6 layout against the G8 repack (14B shape, random blocks, graph replay, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        try
        {
            using var memory = new BackendPair(cuda, cuda);
            using var host = new QuantHostMatrices(new RandomData(21));
            var ops = new (string Name, int Copies, Func<QuantizedMatrix[]> Make)[]
            {
                ("attn_v Q6_K [1024, 5120]", 16, () => [host.GgufRandomBytes(WeightFormat.Q6_K, KvRows, Hidden)]),
                ("q|k|v Q4_K|Q4_K|Q6_K", 4, () => [host.GgufRandomBytes(WeightFormat.Q4_K, QRows, Hidden), host.GgufRandomBytes(WeightFormat.Q4_K, KvRows, Hidden),
                    host.GgufRandomBytes(WeightFormat.Q6_K, KvRows, Hidden)]),
                ("ffn_down Q6_K [5120, 17408]", 2, () => [host.GgufRandomBytes(WeightFormat.Q6_K, Hidden, Inter)]),
                ("lm_head Q6_K [151936, 5120] f32", 1, () => [host.GgufRandomBytes(WeightFormat.Q6_K, Vocab, Hidden)]),
            };
            foreach (var (name, copies, make) in ops)
            {
                var hostCopies = Enumerable.Range(0, copies).Select(_ => make()).ToArray();
                var line = new List<string>();
                foreach (bool compact in new[] { false, true })
                {
                    cuda.UseCompactQ6K = compact;
                    long before = cuda.QuantizedWeightBytes;
                    var weights = hostCopies.Select(parts => new LinearWeight(parts.Select(cuda.UploadQuantized).ToArray())).ToArray();
                    long bytes = (cuda.QuantizedWeightBytes - before) / copies;
                    int k = weights[0].InFeatures, n = weights[0].OutFeatures;
                    bool f32 = name.Contains("f32");
                    var parts = new List<string>();
                    int?[] warpVariants = compact && name.StartsWith("ffn_down", StringComparison.Ordinal) ? [4, 8] : [cuda.G6Warps];
                    foreach (int? warps in warpVariants)
                    foreach (int rows in f32 ? new[] { 1 } : new[] { 1, 8, 32 })
                    {
                        cuda.G6Warps = warps;
                        string variant = warps is { } w && warpVariants.Length > 1 ? $"{w} warps " : "";
                        var x = memory.Zeros(cuda, new Shape(rows, k), DType.BF16);
                        var y = memory.Zeros(cuda, new Shape(rows, n), f32 ? DType.F32 : DType.BF16);
                        double s = GraphTiming.SecondsPerReplay(cuda, () => { foreach (var w in weights) cuda.Linear(x, w, y); }, Replays) / copies;
                        parts.Add($"{variant}m={rows} {s * 1e6:F1} us ({bytes / s / 1e9:F0} GB/s)");
                        if (f32)
                        {
                            var ids = memory.Ints(cuda, new int[rows], new Shape(rows));
                            double pick = GraphTiming.SecondsPerReplay(cuda, () => ((IBackend)cuda).LinearArgMax(x, weights[0], y, ids), Replays);
                            parts.Add($"+argmax {pick * 1e6:F1} us");
                        }
                    }
                    cuda.G6Warps = savedWarps;
                    line.Add($"{(compact ? "G6" : "G8")} {bytes / 1e6:F1} MB: " + string.Join("  ", parts));
                }
                Console.WriteLine($"  {name,-34} " + string.Join("  |  ", line));
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"  q6c timing failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            cuda.UseCompactQ6K = saved;
            cuda.G6Warps = savedWarps;
        }
        foreach (bool compact in new[] { false, true })
        {
            cuda.UseCompactQ6K = compact;
            Console.WriteLine($"== whole Q4_K_M step with Q6_K as {(compact ? "G6 (compact)" : "G8 (session 7)")}:");
            GgufStepTiming.Run(cuda);
        }
        cuda.UseCompactQ6K = saved;
    }
}
