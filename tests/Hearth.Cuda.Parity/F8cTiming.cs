using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11 (branch f8c): the fp8 wide GEMV's bf16 kernels against its f16 kernels (CudaBackend.UseF8F16Kernels, the
/// switch HEARTH_CUDA_F8_NEW) old / new / old / new in one process, at Qwen3-14B's shape with PDL as the backend has it,
/// the model's calls (gate|up through LinearSiluMul, fused): µs per decoder layer of linears at batch 1, 2 and 8, each
/// linear alone at batch 1 (four distinct layers replayed from a CUDA graph, so L2 holds none of them), and ms per
/// whole decode step at batch 1 (DecodeStepTiming's step, context 512), as QuantWideTiming measures the wide kernel.
/// </summary>
internal static class F8cTiming
{
    private const int Hidden = 5120, Inter = 17408, KvRows = 1024, Layers = 4, Replays = 20, StepReplays = 10;
    private static readonly string[] LinearNames = ["qkv", "o", "gate|up+silu", "down"];

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine($"fp8 wide GEMV, bf16 kernels (old) / f16 kernels (new), alternated (14B shape, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, "
            + $"f16 kernels {(cuda.HasF8F16Kernels ? "available" : "not on this device")}):");
        bool saved = cuda.UseF8F16Kernels;
        var random = new Random(11);
        var hostBlocks = new List<nint>();
        try
        {
            long before = cuda.QuantizedWeightBytes;
            var layers = new List<LinearWeight[]>();
            for (int l = 0; l < Layers; l++)
            {
                layers.Add([
                    QuantTiming.Fused(cuda, QuantTiming.Fp8(Hidden, Hidden, random, hostBlocks), QuantTiming.Fp8(KvRows, Hidden, random, hostBlocks),
                        QuantTiming.Fp8(KvRows, Hidden, random, hostBlocks)),
                    QuantTiming.Fused(cuda, QuantTiming.Fp8(Hidden, Hidden, random, hostBlocks)),
                    QuantTiming.Fused(cuda, QuantTiming.Fp8(Inter, Hidden, random, hostBlocks), QuantTiming.Fp8(Inter, Hidden, random, hostBlocks)),
                    QuantTiming.Fused(cuda, QuantTiming.Fp8(Hidden, Inter, random, hostBlocks)),
                ]);
                QuantTiming.FreeHost(hostBlocks);
            }
            double bytesPerLayer = (double)(cuda.QuantizedWeightBytes - before) / Layers;
            foreach (bool f16 in new[] { false, true, false, true, false, true })
            {
                cuda.UseF8F16Kernels = f16;
                var parts = new List<string>();
                foreach (int batch in new[] { 1, 2, 8 })
                {
                    double seconds = QuantLayerTiming.SecondsPerLayer(cuda, Hidden, Hidden, Inter, layers, batch, only: -1, Replays);
                    parts.Add($"m={batch} {seconds * 1e6:F1} us ({bytesPerLayer / seconds / 1e9:F0} GB/s)");
                }
                for (int i = 0; i < 4; i++) parts.Add($"{LinearNames[i]} {QuantLayerTiming.SecondsPerLayer(cuda, Hidden, Hidden, Inter, layers, 1, only: i, Replays) * 1e6:F1}");
                using var memory = new BackendPair(cuda, cuda);
                double step = GraphTiming.SecondsPerReplay(cuda, DecodeStepTiming.BuildStep(cuda, memory, 1, layers[0]), StepReplays);
                parts.Add($"step {step * 1e3:F3} ms ({1 / step:F1} tok/s)");
                Console.WriteLine($"  fp8 128x128 {bytesPerLayer / 1e6:F1} MB/layer, {(f16 ? "new" : "old")}: " + string.Join("  ", parts));
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.UseF8F16Kernels = saved;
        }
    }
}
