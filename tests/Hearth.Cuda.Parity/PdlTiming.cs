using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The effect of programmatic dependent launch on whole decode steps of Qwen3-14B's shape (DecodeStepTiming's step,
/// CUDA graph replay): bf16 at batch 1 and 32, and the int4 (AWQ g128) and fp8 (128×128) steps at batch 1 with one
/// set of random quantized layer weights shared by the 40 layers. PDL off, on, off again in the same process (the
/// graph is captured anew for each setting), so drift shows up as a difference between the two "off" rows.
/// </summary>
internal static class PdlTiming
{
    private const int Hidden = 5120, Inter = 17408, KvRows = 1024, Replays = 10;

    public static void Run(CudaBackend cuda)
    {
        bool saved = cuda.UseProgrammaticLaunch;
        cuda.UseProgrammaticLaunch = true;
        if (!cuda.UseProgrammaticLaunch)
        {
            Console.WriteLine("PDL timing skipped: the GPU has no programmatic dependent launch (sm_90+)");
            cuda.UseProgrammaticLaunch = saved;
            return;
        }
        Console.WriteLine("decode step, PDL off / on / off (14B shape, context 512, CUDA graph replay):");
        var hostBlocks = new List<nint>();
        try
        {
            foreach (int batch in new[] { 1, 32 }) Time(cuda, $"bf16 batch {batch}", batch, null);
            var random = new Random(6);
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("awq-int4", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
                ("fp8", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
            })
            {
                LinearWeight[] layer =
                [
                    QuantTiming.Fused(cuda, make(Hidden, Hidden), make(KvRows, Hidden), make(KvRows, Hidden)),
                    QuantTiming.Fused(cuda, make(Hidden, Hidden)),
                    QuantTiming.Fused(cuda, make(Inter, Hidden), make(Inter, Hidden)),
                    QuantTiming.Fused(cuda, make(Hidden, Inter)),
                ];
                QuantTiming.FreeHost(hostBlocks);
                Time(cuda, $"{name} batch 1", 1, layer);
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            cuda.UseProgrammaticLaunch = saved;
        }
    }

    private static void Time(CudaBackend cuda, string name, int batch, LinearWeight[]? layer)
    {
        using var memory = new BackendPair(cuda, cuda);
        Action step = DecodeStepTiming.BuildStep(cuda, memory, batch, layer);
        var line = new List<string>();
        foreach (bool pdl in new[] { false, true, false, true })
        {
            cuda.UseProgrammaticLaunch = pdl;
            double seconds = GraphTiming.SecondsPerReplay(cuda, step, Replays);
            line.Add($"{(pdl ? "on" : "off")} {seconds * 1e3:F3} ms ({batch / seconds:F1} tok/s)");
        }
        Console.WriteLine($"  {name,-16} " + string.Join("  ", line));
    }
}
