using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 10 (Hearth.Cuda.Parity --k4b-timing): the compact Q4_K ops of a Qwen3-14B Q4_K_M step with main's K4 kernels
/// (UseK4New off) against the new ones (the rule's pick, and each new kernel forced), alternated over two rounds in one
/// process, each from a CUDA graph over distinct copies of its weights (L2 holds none), at 1 and 8 rows; then
/// GgufStepTiming's whole batch-1 step, main against new, alternated.
/// </summary>
internal static class K4bTiming
{
    private const int Replays = 20;

    public static void Run(CudaBackend cuda)
    {
        bool savedCompact = cuda.UseCompactQ4K, savedNew = cuda.UseK4New;
        string? savedKernel = cuda.K4NewKernel;
        Console.WriteLine($"K4 decode ops, main against session 10's kernels (14B shape, random blocks, graph replay, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        cuda.UseCompactQ4K = true;
        try
        {
            using var memory = new BackendPair(cuda, cuda);
            using var host = new QuantHostMatrices(new RandomData(29));
            var ops = Q4KDecodeOps.Make(host);
            foreach (var (name, copies, make) in ops)
            {
                long before = cuda.QuantizedWeightBytes;
                var weights = Enumerable.Range(0, copies).Select(_ => new LinearWeight(make().Select(cuda.UploadQuantized).ToArray())).ToArray();
                long bytes = (cuda.QuantizedWeightBytes - before) / copies;
                int k = weights[0].InFeatures, n = weights[0].OutFeatures;
                bool silu = name.Contains("silu"), plainK4 = !silu && !name.Contains("Q6_K");
                var settings = new List<(string Label, bool New, string? Kernel)> { ("main", false, null), ("new", true, null) };
                if (plainK4) settings.AddRange([("w4d2", true, "w4d2"), ("w4d3", true, "w4d3"), ("w8d2", true, "w8d2"), ("s4", true, "s4"), ("s8", true, "s8")]);
                if (silu) settings.AddRange([("w4d2", true, "w4d2"), ("s4", true, "s4")]);
                foreach (int rows in new[] { 1, 8 })
                {
                    var x = memory.Zeros(cuda, new Shape(rows, k), DType.BF16);
                    var y = memory.Zeros(cuda, new Shape(rows, n), DType.BF16);
                    var act = memory.Zeros(cuda, new Shape(rows, n / 2), DType.BF16);
                    Action op = silu ? () => { foreach (var w in weights) ((IBackend)cuda).LinearSiluMul(x, w, y, act); }
                        : () => { foreach (var w in weights) cuda.Linear(x, w, y); };
                    for (int round = 0; round < 2; round++)
                    {
                        var parts = new List<string>();
                        foreach (var (label, useNew, kernel) in settings)
                        {
                            cuda.UseK4New = useNew;
                            cuda.K4NewKernel = silu ? null : kernel;
                            cuda.K4NewSiluKernel = silu ? kernel : null;
                            double s = GraphTiming.SecondsPerReplay(cuda, op, Replays) / copies;
                            parts.Add($"{label} {s * 1e6:F2} us ({bytes / s / 1e9:F0} GB/s)");
                        }
                        Console.WriteLine($"  {name,-28} m={rows} ({bytes / 1e6:F1} MB): " + string.Join("  ", parts));
                    }
                    cuda.K4NewKernel = savedKernel;
                    cuda.K4NewSiluKernel = null;
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"  k4b timing failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            cuda.UseK4New = savedNew;
            cuda.K4NewKernel = savedKernel;
        }
        Console.WriteLine("== whole Q4_K_M step, main's K4 kernels against session 10's (alternated):");
        GgufStepTiming.Run(cuda, [("main K4 kernels", () => cuda.UseK4New = false), ("new K4 kernels", () => cuda.UseK4New = true)]);
        cuda.UseK4New = savedNew;
        cuda.UseCompactQ4K = savedCompact;
    }
}
