using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The fused quantized gate|up + SiLU·mul (CudaBackend.FuseSiluMul) off / on / off / on in one process, at Qwen3-14B's
/// shape, batch 1, PDL as the backend has it: µs a decoder layer of quantized linears (q|k|v, o, gate|up through
/// LinearSiluMul, down; two distinct layers replayed from a CUDA graph, as QuantTiming) and ms a whole decode step
/// (DecodeStepTiming's step with one set of random layer weights shared by the 40 layers, context 512).
/// </summary>
internal static class QuantSiluTiming
{
    private const int Hidden = 5120, Inter = 17408, KvRows = 1024, Layers = 2, Replays = 20, StepReplays = 10;

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine($"fused quantized gate|up + silu_mul off / on / off / on (14B shape, batch 1, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        bool saved = cuda.FuseSiluMul, savedFp8 = cuda.FuseQuantSiluMulFp8;
        cuda.FuseQuantSiluMulFp8 = true;   // timed for every format, whatever the default
        var random = new Random(7);
        var hostBlocks = new List<nint>();
        try
        {
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("awq-int4 g128", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
                ("fp8 128x128", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
            })
            {
                var layers = new List<LinearWeight[]>();
                for (int l = 0; l < Layers; l++)
                    layers.Add([
                        QuantTiming.Fused(cuda, make(Hidden, Hidden), make(KvRows, Hidden), make(KvRows, Hidden)),
                        QuantTiming.Fused(cuda, make(Hidden, Hidden)),
                        QuantTiming.Fused(cuda, make(Inter, Hidden), make(Inter, Hidden)),
                        QuantTiming.Fused(cuda, make(Hidden, Inter)),
                    ]);
                QuantTiming.FreeHost(hostBlocks);
                var layerLine = new List<string>();
                var stepLine = new List<string>();
                foreach (bool fuse in new[] { false, true, false, true })
                {
                    cuda.FuseSiluMul = fuse;
                    layerLine.Add($"{(fuse ? "on" : "off")} {PerLayer(cuda, layers) * 1e6:F1} us");
                    using var memory = new BackendPair(cuda, cuda);
                    double seconds = GraphTiming.SecondsPerReplay(cuda, DecodeStepTiming.BuildStep(cuda, memory, 1, layers[0]), StepReplays);
                    stepLine.Add($"{(fuse ? "on" : "off")} {seconds * 1e3:F3} ms ({1 / seconds:F1} tok/s)");
                }
                Console.WriteLine($"  {name,-14} layer linears: " + string.Join("  ", layerLine));
                Console.WriteLine($"  {name,-14} decode step:   " + string.Join("  ", stepLine));
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.FuseSiluMul = saved;
            cuda.FuseQuantSiluMulFp8 = savedFp8;
        }
    }

    private static double PerLayer(CudaBackend cuda, List<LinearWeight[]> layers)
    {
        using var memory = new BackendPair(cuda, cuda);
        var normed = memory.Zeros(cuda, new Shape(1, Hidden), DType.BF16);
        var activated = memory.Zeros(cuda, new Shape(1, Inter), DType.BF16);
        var gateUp = memory.Zeros(cuda, new Shape(1, 2 * Inter), DType.BF16);
        var qkv = memory.Zeros(cuda, new Shape(1, layers[0][0].OutFeatures), DType.BF16);
        var projected = memory.Zeros(cuda, new Shape(1, Hidden), DType.BF16);
        void Step()
        {
            foreach (var layer in layers)
            {
                cuda.Linear(normed, layer[0], qkv);
                cuda.Linear(normed, layer[1], projected);
                cuda.LinearSiluMul(normed, layer[2], gateUp, activated);
                cuda.Linear(activated, layer[3], projected);
            }
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, Replays) / layers.Count;
    }
}
