using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11 (Hearth.Cuda.Parity --g6d-timing): the Qwen3-14B Q4_K_M decode ops this session changed, session 10's
/// kernels (UseG6New off) against this session's (the rule's pick, and the other new kernels forced), alternated over two
/// rounds in one process, each from a CUDA graph over distinct copies of its weights (L2 holds none), at 1 and 8 rows;
/// then GgufStepTiming's whole batch-1 step and its parts under both settings, alternated.
/// </summary>
internal static class G6dTiming
{
    private const int Hidden = 5120, Inter = 17408, QRows = 5120, KvRows = 1024, Vocab = 151936, Replays = 20;

    public static void Run(CudaBackend cuda)
    {
        bool savedQ4 = cuda.UseCompactQ4K, savedQ6 = cuda.UseCompactQ6K, savedNew = cuda.UseG6New;
        Console.WriteLine($"G6 and K4 gate|up decode ops, session 10 against session 11 (14B shape, random blocks, graph replay, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        cuda.UseCompactQ4K = true;
        cuda.UseCompactQ6K = true;
        try
        {
            using var memory = new BackendPair(cuda, cuda);
            using var host = new QuantHostMatrices(new RandomData(31));
            QuantizedMatrix Q4(int n, int k) => host.GgufRandomBytes(WeightFormat.Q4_K, n, k);
            QuantizedMatrix Q6(int n, int k) => host.GgufRandomBytes(WeightFormat.Q6_K, n, k);
            var ops = new (string Name, int Copies, Func<QuantizedMatrix[]> Make, string[] Forced, int[] Rows)[]
            {
                ("ffn_down Q6_K [5120, 17408]", 2, () => [Q6(Hidden, Inter)], ["s4", "w4d2"], [1, 8]),
                ("q|k|v Q4_K|Q4_K|Q6_K", 4, () => [Q4(QRows, Hidden), Q4(KvRows, Hidden), Q6(KvRows, Hidden)], [], [1, 8]),
                ("gate|up+silu Q4_K", 2, () => [Q4(Inter, Hidden), Q4(Inter, Hidden)], ["m2"], [1, 8]),
                ("lm_head Q6_K -> f32", 1, () => [Q6(Vocab, Hidden)], ["m3"], [1]),
            };
            foreach (var (name, copies, make, forced, rowCounts) in ops)
            {
                long before = cuda.QuantizedWeightBytes;
                var weights = Enumerable.Range(0, copies).Select(_ => new LinearWeight(make().Select(cuda.UploadQuantized).ToArray())).ToArray();
                long bytes = (cuda.QuantizedWeightBytes - before) / copies;
                int k = weights[0].InFeatures, n = weights[0].OutFeatures;
                bool silu = name.Contains("silu");
                var settings = new List<(string Label, bool New, string? Kernel)> { ("session10", false, null), ("new", true, null) };
                settings.AddRange(forced.Select(f => (f, true, (string?)f)));
                foreach (int rows in rowCounts)
                {
                    var x = memory.Zeros(cuda, new Shape(rows, k), DType.BF16);
                    var y = memory.Zeros(cuda, new Shape(rows, n), name.Contains("f32") ? DType.F32 : DType.BF16);
                    var act = memory.Zeros(cuda, new Shape(rows, n / 2), DType.BF16);
                    Action op = silu ? () => { foreach (var w in weights) ((IBackend)cuda).LinearSiluMul(x, w, y, act); }
                        : () => { foreach (var w in weights) cuda.Linear(x, w, y); };
                    for (int round = 0; round < 2; round++)
                    {
                        var parts = new List<string>();
                        foreach (var (label, useNew, kernel) in settings)
                        {
                            cuda.UseG6New = useNew;
                            cuda.G6NewKernel = silu ? null : kernel;
                            cuda.K4SiluStreamKernel = silu ? kernel : null;
                            double s = GraphTiming.SecondsPerReplay(cuda, op, Replays) / copies;
                            parts.Add($"{label} {s * 1e6:F2} us ({bytes / s / 1e9:F0} GB/s)");
                        }
                        Console.WriteLine($"  {name,-28} m={rows} ({bytes / 1e6:F1} MB): " + string.Join("  ", parts));
                    }
                }
                cuda.G6NewKernel = null;
                cuda.K4SiluStreamKernel = null;
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"  g6d timing failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            cuda.UseG6New = savedNew;
            cuda.G6NewKernel = null;
            cuda.K4SiluStreamKernel = null;
        }
        Console.WriteLine("== whole Q4_K_M step, session 10's kernels against session 11's (alternated):");
        GgufStepTiming.Run(cuda, [("session 10 (HEARTH_CUDA_G6_NEW=0)", () => cuda.UseG6New = false), ("session 11", () => cuda.UseG6New = true)]);
        cuda.UseG6New = savedNew;
        cuda.UseCompactQ4K = savedQ4;
        cuda.UseCompactQ6K = savedQ6;
    }
}
