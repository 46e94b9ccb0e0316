using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The wide quantized GEMV (CudaBackend.UseQuantWideGemv) off / on / off / on in one process, at Qwen3-14B's shape, PDL
/// as the backend has it, the model's calls (gate|up through LinearSiluMul, fused wherever the backend fuses): µs per
/// decoder layer of quantized linears at batch 1 and 8, each linear alone at batch 1 (four distinct layers replayed
/// from a CUDA graph, so L2 holds none of them), and ms per whole decode step at batch 1 (DecodeStepTiming's step, one
/// set of random layer weights shared by the 40 layers, context 512).
/// </summary>
internal static class QuantWideTiming
{
    private const int Hidden = 5120, Inter = 17408, KvRows = 1024, Layers = 4, Replays = 20, StepReplays = 10;
    private static readonly string[] LinearNames = ["qkv", "o", "gate|up+silu", "down"];

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine($"wide quantized GEMV off / on / off / on (14B shape, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, "
            + $"warps {cuda.QuantWideWarps?.ToString() ?? "by rule"}):");
        bool saved = cuda.UseQuantWideGemv;
        var random = new Random(11);
        var hostBlocks = new List<nint>();
        try
        {
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("fp8 128x128", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
                ("awq-int4 g128", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
            })
            {
                long before = cuda.QuantizedWeightBytes;
                var layers = new List<LinearWeight[]>();
                for (int l = 0; l < Layers; l++)
                {
                    layers.Add([
                        QuantTiming.Fused(cuda, make(Hidden, Hidden), make(KvRows, Hidden), make(KvRows, Hidden)),
                        QuantTiming.Fused(cuda, make(Hidden, Hidden)),
                        QuantTiming.Fused(cuda, make(Inter, Hidden), make(Inter, Hidden)),
                        QuantTiming.Fused(cuda, make(Hidden, Inter)),
                    ]);
                    QuantTiming.FreeHost(hostBlocks);
                }
                double bytesPerLayer = (double)(cuda.QuantizedWeightBytes - before) / Layers;
                foreach (bool wide in new[] { false, true, false, true })
                {
                    cuda.UseQuantWideGemv = wide;
                    var parts = new List<string>();
                    foreach (int batch in new[] { 1, 8 })
                    {
                        double seconds = QuantLayerTiming.SecondsPerLayer(cuda, Hidden, Hidden, Inter, layers, batch, only: -1, Replays);
                        parts.Add($"m={batch} {seconds * 1e6:F1} us ({bytesPerLayer / seconds / 1e9:F0} GB/s)");
                    }
                    for (int i = 0; i < 4; i++) parts.Add($"{LinearNames[i]} {QuantLayerTiming.SecondsPerLayer(cuda, Hidden, Hidden, Inter, layers, 1, only: i, Replays) * 1e6:F1}");
                    using var memory = new BackendPair(cuda, cuda);
                    double step = GraphTiming.SecondsPerReplay(cuda, DecodeStepTiming.BuildStep(cuda, memory, 1, layers[0]), StepReplays);
                    parts.Add($"step {step * 1e3:F3} ms ({1 / step:F1} tok/s)");
                    Console.WriteLine($"  {name,-14} {bytesPerLayer / 1e6:F1} MB/layer, wide {(wide ? "on " : "off")}: " + string.Join("  ", parts));
                }
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.UseQuantWideGemv = saved;
        }
    }
}
