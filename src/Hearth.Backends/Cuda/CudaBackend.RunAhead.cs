using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Run-ahead decoding (the engine's ModelRunner): the next decode step's inputs advanced on the stream from this step's
// picks, and page-locked readback slots the host waits on without synchronizing the stream.
public sealed unsafe partial class CudaBackend
{
    private const uint AdvanceThreads = 128;
    private nint _advanceDecodeInputs;

    /// <summary>Page-locked readback slots (<see cref="CudaHostReadback"/>) of <paramref name="capacity"/> I32 values each.</summary>
    public CudaHostReadback CreateHostReadback(int slots, int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaHostReadback(this, slots, capacity);
    }

    /// <summary>
    /// For each row r &lt; <paramref name="rows"/>: tokenIds[r] = picked[r], positions[r] += 1, seqLens[r] = positions[r] + 1,
    /// slotMapping[r] = blockTables[r, p / blockSize] · blockSize + p % blockSize at the new position p (all I32;
    /// blockTables [seqs, maxBlocksPerSeq]). Rows from <paramref name="rows"/> on are left as they are. The caller
    /// guarantees that each row's new position lies in an allocated block.
    /// </summary>
    public void AdvanceDecodeInputs(Tensor picked, Tensor tokenIds, Tensor positions, Tensor slotMapping, Tensor seqLens, Tensor blockTables,
        int rows, int blockSize)
    {
        RequireRows(picked, rows, nameof(picked));
        RequireRows(tokenIds, rows, nameof(tokenIds));
        RequireRows(positions, rows, nameof(positions));
        RequireRows(slotMapping, rows, nameof(slotMapping));
        RequireRows(seqLens, rows, nameof(seqLens));
        Require(blockTables, DType.I32, nameof(blockTables));
        if (blockTables.Shape.Rank != 2 || blockTables.Shape[0] < rows) throw new ArgumentException($"blockTables {blockTables.Shape} is not [>= {rows}, maxBlocksPerSeq]");
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize));
        if (rows <= 0) return;
        if (_advanceDecodeInputs == 0) _advanceDecodeInputs = Function("advance_decode_inputs");
        nint pickedPtr = picked.Data, tokensPtr = tokenIds.Data, positionsPtr = positions.Data, slotsPtr = slotMapping.Data;
        nint seqLensPtr = seqLens.Data, tablesPtr = blockTables.Data;
        int maxBlocksPerSeq = blockTables.Shape[1];
        void** args = stackalloc void*[] { &pickedPtr, &tokensPtr, &positionsPtr, &slotsPtr, &seqLensPtr, &tablesPtr, &rows, &maxBlocksPerSeq, &blockSize };
        Launch(_advanceDecodeInputs, (uint)((rows + AdvanceThreads - 1) / AdvanceThreads), 1, AdvanceThreads, 0, args);
    }

    private static void RequireRows(Tensor tensor, int rows, string name)
    {
        Require(tensor, DType.I32, name);
        if (tensor.NumElements < rows) throw new ArgumentException($"{name} {tensor.Shape} has fewer than {rows} rows");
    }
}
