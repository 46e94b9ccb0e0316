using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Greedy sampling on the GPU, so that only token ids cross to the host. The split kernel spreads each row over
// several blocks: the single-block kernel took ~56 µs of every decode step on an H100 for one 151,936-entry row.
public sealed unsafe partial class CudaBackend
{
    /// <summary>Partials the split pick can hold (rows × splits); more rows than this take the one-block kernel.</summary>
    private const int ArgMaxMaxPartials = 4096;
    private const int ArgMaxMaxSplits = 64;
    private const int ArgMaxMinChunk = 2048;
    private const int ArgMaxThreads = 256;
    private nint _argMax, _argMaxSplit;
    private CudaBuffer? _argMaxWorkspace; // [ArgMaxMaxPartials] F32 values, I32 indices, U32 counters (one per row)

    /// <summary>
    /// Uses the multi-block greedy pick (on by default; HEARTH_CUDA_ARGMAX_SPLIT=0 keeps one block per row).
    /// </summary>
    public bool UseSplitArgMax { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_ARGMAX_SPLIT") != "0";

    private void LoadArgMaxFunctions()
    {
        _argMax = Function("argmax_rows_f32");
        _argMaxSplit = Function("argmax_rows_split_f32");
        // Zeroed at allocation: the counters start at 0, and the last block of each row resets its own.
        _argMaxWorkspace = CudaBuffer.Allocate(_device, 3L * ArgMaxMaxPartials * sizeof(float));
    }

    /// <summary>Greedy sampling on the GPU: ids[r] = the first index of the largest value of logits row r. logits [rows, vocab] F32; ids [rows] I32.</summary>
    public void ArgMaxRows(Tensor logits, Tensor ids)
    {
        Require(logits, DType.F32, nameof(logits));
        Require(ids, DType.I32, nameof(ids));
        int rows = logits.Shape[0], vocab = (int)(logits.NumElements / Math.Max(1, rows));
        if (ids.NumElements < rows) throw new ArgumentException($"ids {ids.Shape} has fewer than {rows} rows");
        nint logitsPtr = logits.Data, idsPtr = ids.Data;
        if (!UseSplitArgMax || rows > ArgMaxMaxPartials)
        {
            void** args = stackalloc void*[] { &logitsPtr, &vocab, &idsPtr };
            Launch(_argMax, (uint)rows, 1, 1024, 0, args);
            return;
        }
        var (splits, chunk) = ArgMaxSplits(rows, vocab, _device.NumMultiprocessors);
        nint values = _argMaxWorkspace!.Data, indices = values + ArgMaxMaxPartials * sizeof(float), counters = indices + ArgMaxMaxPartials * sizeof(int);
        void** splitArgs = stackalloc void*[] { &logitsPtr, &vocab, &chunk, &values, &indices, &counters, &idsPtr };
        Launch(_argMaxSplit, (uint)splits, (uint)rows, ArgMaxThreads, 0, splitArgs);
    }

    /// <summary>
    /// Blocks per row and entries per block: about two blocks per SM over the whole pick, chunks of at least
    /// <see cref="ArgMaxMinChunk"/> entries in multiples of 4 (16-byte loads), within the partials' capacity.
    /// </summary>
    public static (int Splits, int Chunk) ArgMaxSplits(int rows, int vocab, int numMultiprocessors)
    {
        int splits = Math.Max(1, (2 * numMultiprocessors + rows - 1) / rows);
        splits = Math.Min(splits, Math.Min(ArgMaxMaxSplits, Math.Max(1, ArgMaxMaxPartials / rows)));
        splits = Math.Min(splits, Math.Max(1, (vocab + ArgMaxMinChunk - 1) / ArgMaxMinChunk));
        int chunk = ((vocab + splits - 1) / splits + 3) & ~3;
        return ((vocab + chunk - 1) / chunk, chunk);
    }
}
