using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Split k and the pre-wait L2 prefetch of the quantized decode GEMVs (session 8; --splitk-timing), each setting in
/// turn in one process: µs per decoder layer of quantized linears at batch 1 and 8 and each linear alone at batch 1
/// (four distinct layers replayed from a CUDA graph, so L2 holds none of them; gate|up through LinearSiluMul), for
/// int4 and fp8 at Qwen3-14B's shape and at Qwen3-4B's (hidden 2560, q 4096, kv 1024, inter 9728: 160-tile o and down,
/// which the rule splits), and ms per whole 14B decode step at batch 1 (DecodeStepTiming's step).
/// </summary>
internal static class SplitKTiming
{
    private const int Replays = 20, StepReplays = 10;
    private static readonly string[] LinearNames = ["qkv", "o", "gate|up+silu", "down"];

    // Layers: distinct copies replayed, enough that one linear's copies (the 4B down: 12.5 MB of int4) exceed the 50 MB L2.
    private sealed record ModelShape(string Name, int Hidden, int QRows, int KvRows, int Inter, int Layers);

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine($"split-k timing (PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, {cuda.MultiprocessorCount} SMs):");
        bool savedSplit = cuda.UseQuantSplitK;
        int? savedForced = cuda.QuantSplitKForced;
        int? savedPrefetch = cuda.QuantPrefetchLines;
        var random = new Random(13);
        var hostBlocks = new List<nint>();
        // Prefetch null: the default (16 lines for the wide kernel, none for the register stream).
        (string Label, bool Split, int? Forced, int? Prefetch)[] settings =
        [
            ("all off (split 0, prefetch 0)", false, null, 0), ("defaults (split rule, prefetch)", true, null, null),
            ("split rule, prefetch 0", true, null, 0), ("all off (again)", false, null, 0), ("defaults (again)", true, null, null),
        ];
        try
        {
            foreach (var shape in new[] { new ModelShape("14B", 5120, 5120, 1024, 17408, 4), new ModelShape("4B", 2560, 4096, 1024, 9728, 16) })
                foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
                {
                    ("awq-int4 g128", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
                    ("fp8 128x128", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
                })
                {
                    long before = cuda.QuantizedWeightBytes;
                    var layers = new List<LinearWeight[]>();
                    for (int l = 0; l < shape.Layers; l++)
                    {
                        layers.Add([
                            QuantTiming.Fused(cuda, make(shape.QRows, shape.Hidden), make(shape.KvRows, shape.Hidden), make(shape.KvRows, shape.Hidden)),
                            QuantTiming.Fused(cuda, make(shape.Hidden, shape.QRows)),
                            QuantTiming.Fused(cuda, make(shape.Inter, shape.Hidden), make(shape.Inter, shape.Hidden)),
                            QuantTiming.Fused(cuda, make(shape.Hidden, shape.Inter)),
                        ]);
                        QuantTiming.FreeHost(hostBlocks);
                    }
                    double bytesPerLayer = (double)(cuda.QuantizedWeightBytes - before) / shape.Layers;
                    foreach (var (label, split, forced, prefetch) in settings)
                    {
                        cuda.UseQuantSplitK = split;
                        cuda.QuantSplitKForced = forced;
                        cuda.QuantPrefetchLines = prefetch;
                        var parts = new List<string>();
                        foreach (int batch in new[] { 1, 8 })
                        {
                            double seconds = QuantLayerTiming.SecondsPerLayer(cuda, shape.Hidden, shape.QRows, shape.Inter, layers, batch, only: -1, Replays);
                            parts.Add($"m={batch} {seconds * 1e6:F1} us ({bytesPerLayer / seconds / 1e9:F0} GB/s)");
                        }
                        for (int i = 0; i < 4; i++) parts.Add($"{LinearNames[i]} {QuantLayerTiming.SecondsPerLayer(cuda, shape.Hidden, shape.QRows, shape.Inter, layers, 1, only: i, Replays) * 1e6:F1}");
                        if (shape.Hidden == 5120)
                        {
                            using var memory = new BackendPair(cuda, cuda);
                            double step = GraphTiming.SecondsPerReplay(cuda, DecodeStepTiming.BuildStep(cuda, memory, 1, layers[0]), StepReplays);
                            parts.Add($"step {step * 1e3:F3} ms ({1 / step:F1} tok/s)");
                        }
                        Console.WriteLine($"  {shape.Name} {name,-14} {bytesPerLayer / 1e6:F1} MB/layer, {label,-30}: " + string.Join("  ", parts));
                    }
                }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.UseQuantSplitK = savedSplit;
            cuda.QuantSplitKForced = savedForced;
            cuda.QuantPrefetchLines = savedPrefetch;
        }
    }
}
