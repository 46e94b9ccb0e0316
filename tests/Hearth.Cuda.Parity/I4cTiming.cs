using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11 (branch i4c, --i4c): session 11's kernels (CudaBackend.QuantI4V3: half sums, q − z, session 10's arithmetic
/// with the new x loads) against session 10's (V3 off) in the order session 10, half sums, q − z, x loads, session 10,
/// half sums in one process: µs per 14B decoder layer of AWQ g128 linears (zero points 8) at
/// batch 1 and 8, each linear alone at batch 1 and 8 with its TB/s (four distinct layers replayed from a CUDA graph with
/// PDL, so L2 holds none; gate|up through LinearSiluMul), and ms per whole 14B decode step at batch 1 (DecodeStepTiming's
/// step with these layer weights). I4Timing's harness, with the settings of this session.
/// </summary>
internal static class I4cTiming
{
    private const int Replays = 20, StepReplays = 10, Layers = 4, Hidden = 5120, QRows = 5120, KvRows = 1024, Inter = 17408;
    private static readonly string[] LinearNames = ["qkv", "o", "gate|up+silu", "down"];

    public static void Run(CudaBackend cuda, bool shortOrder = false)
    {
        Console.WriteLine($"i4c timing (PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, {cuda.MultiprocessorCount} SMs), 14B awq-int4 g128:");
        bool saved = cuda.UseQuantI4, savedV2 = cuda.UseQuantI4V2;
        var savedV3 = cuda.QuantI4V3;
        var random = new Random(29);
        var hostBlocks = new List<nint>();
        try
        {
            var layers = new List<LinearWeight[]>();
            long before = cuda.QuantizedWeightBytes;
            for (int l = 0; l < Layers; l++)
            {
                QuantizedMatrix Make(int n, int k) => QuantTiming.Int4(n, k, random, hostBlocks);
                layers.Add([
                    QuantTiming.Fused(cuda, Make(QRows, Hidden), Make(KvRows, Hidden), Make(KvRows, Hidden)),
                    QuantTiming.Fused(cuda, Make(Hidden, QRows)),
                    QuantTiming.Fused(cuda, Make(Inter, Hidden), Make(Inter, Hidden)),
                    QuantTiming.Fused(cuda, Make(Hidden, Inter)),
                ]);
                QuantTiming.FreeHost(hostBlocks);
            }
            double bytesPerLayer = (double)(cuda.QuantizedWeightBytes - before) / Layers;
            // Bytes of each linear: 16-row tiles of 8 bytes a k plus one 64-byte param record a tile and group of 128.
            double[] linearBytes = [Bytes(QRows + 2 * KvRows, Hidden), Bytes(Hidden, QRows), Bytes(2 * Inter, Hidden), Bytes(Hidden, Inter)];
            cuda.UseQuantI4 = true;
            cuda.UseQuantI4V2 = true;
            (string, CudaQuantI4V3)[] order = shortOrder
                ? [("session 10 (HEARTH_CUDA_I4_V3=0)", CudaQuantI4V3.Off), ("half sums (default)", CudaQuantI4V3.HalfSums),
                    ("session 10 (again)", CudaQuantI4V3.Off), ("half sums (again)", CudaQuantI4V3.HalfSums)]
                : [("session 10 (HEARTH_CUDA_I4_V3=0)", CudaQuantI4V3.Off), ("half sums (default)", CudaQuantI4V3.HalfSums),
                    ("q - z (qz)", CudaQuantI4V3.ZeroOperands), ("x loads only (xp)", CudaQuantI4V3.PointerX), ("session 10 (again)", CudaQuantI4V3.Off),
                    ("half sums (again)", CudaQuantI4V3.HalfSums)];
            foreach (var (label, v3) in order)
            {
                cuda.QuantI4V3 = v3;
                long launches = cuda.NumQuantI4Launches, twoStage = cuda.NumQuantI4TwoStageLaunches, v3Launches = cuda.NumQuantI4V3Launches;
                var parts = new List<string>();
                foreach (int batch in new[] { 1, 8 })
                {
                    double seconds = QuantLayerTiming.SecondsPerLayer(cuda, Hidden, QRows, Inter, layers, batch, only: -1, Replays);
                    parts.Add($"layer m={batch} {seconds * 1e6:F1} us ({bytesPerLayer / seconds / 1e12:F2} TB/s)");
                }
                foreach (int batch in new[] { 1, 8 })
                    for (int i = 0; i < 4; i++)
                    {
                        double seconds = QuantLayerTiming.SecondsPerLayer(cuda, Hidden, QRows, Inter, layers, batch, only: i, Replays);
                        parts.Add($"{LinearNames[i]} m={batch} {seconds * 1e6:F1} ({linearBytes[i] / seconds / 1e12:F2})");
                    }
                using (var memory = new BackendPair(cuda, cuda))
                {
                    double step = GraphTiming.SecondsPerReplay(cuda, DecodeStepTiming.BuildStep(cuda, memory, 1, layers[0]), StepReplays);
                    parts.Add($"step {step * 1e3:F3} ms ({1 / step:F1} tok/s)");
                }
                Console.WriteLine($"  {bytesPerLayer / 1e6:F1} MB/layer, {label,-32} [{cuda.NumQuantI4Launches - launches} i4 launches, "
                    + $"{cuda.NumQuantI4TwoStageLaunches - twoStage} two-stage, {cuda.NumQuantI4V3Launches - v3Launches} session 11]: " + string.Join("  ", parts));
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.UseQuantI4 = saved;
            cuda.UseQuantI4V2 = savedV2;
            cuda.QuantI4V3 = savedV3;
        }
    }

    private static double Bytes(int rows, int k) => (rows + 15) / 16 * (8.0 * k + k / 128 * 64);
}
