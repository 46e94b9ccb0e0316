namespace Hearth.Backends.Cuda;

/// <summary>
/// How the fused decode attention kernel splits each (sequence, kv head)'s keys over blocks. The split count
/// depends only on the batch shape and the block-table width, never on the context lengths, so a CUDA graph
/// captured for one batch bucket stays valid as its contexts grow; the kernel derives each split's key range,
/// and how many splits have work, from the sequence length on the device with <see cref="KeysPerSplit"/>.
/// </summary>
public static class DecodeSplitPlan
{
    /// <summary>The kernel's combine keeps one weight per split in shared memory (DF_MAX_SPLITS).</summary>
    public const int MaxSplits = 64;

    /// <summary>Four warps of eight keys each: one load round per warp, the fewest keys worth a block.</summary>
    public const int MinKeysPerSplit = 32;

    /// <summary>A minimum keys-per-split setting: a multiple of 16 from 16 to 1024, else <see cref="MinKeysPerSplit"/>.</summary>
    public static int ParseMinKeys(string? value) =>
        int.TryParse(value, out int keys) && keys is >= 16 and <= 1024 && keys % 16 == 0 ? keys : MinKeysPerSplit;

    /// <summary>
    /// Blocks aimed for per launch, per streaming multiprocessor: two to three fit an SM at the kernel's
    /// register use, and four give the memory system enough rows in flight at long contexts.
    /// </summary>
    public const int BlocksPerMultiprocessor = 4;

    /// <summary>The most (sequence, kv head, split) blocks of a launch with more than one split: what the partials are sized for.</summary>
    public static int MaxSplitBlocks(int numMultiprocessors, int blocksPerMultiprocessor = BlocksPerMultiprocessor) =>
        Math.Max(1, blocksPerMultiprocessor) * Math.Max(1, numMultiprocessors);

    /// <summary>
    /// Splits per (sequence, kv head): enough blocks to cover the GPU, never more than a full-width table has
    /// minimum-size ranges for, and 1 (no partials) when the batch alone fills <see cref="MaxSplitBlocks"/>.
    /// </summary>
    public static int Splits(int numSeqs, int kvHeads, int maxBlocksPerSeq, int blockSize, int numMultiprocessors,
        int blocksPerMultiprocessor = BlocksPerMultiprocessor)
    {
        long pairs = Math.Max(1L, (long)numSeqs * kvHeads);
        long maxContext = Math.Max(1L, (long)maxBlocksPerSeq * blockSize);
        long byGpu = MaxSplitBlocks(numMultiprocessors, blocksPerMultiprocessor) / pairs;
        long byContext = (maxContext + MinKeysPerSplit - 1) / MinKeysPerSplit;
        return (int)Math.Clamp(Math.Min(byGpu, byContext), 1, MaxSplits);
    }

    /// <summary>Keys per split for a sequence of <paramref name="seqLen"/> tokens, as the kernel computes it.</summary>
    public static int KeysPerSplit(int seqLen, int splits) => Math.Max(MinKeysPerSplit, (seqLen + splits - 1) / splits);

    /// <summary>Splits that have keys for a sequence of <paramref name="seqLen"/> tokens; the rest exit at once.</summary>
    public static int ActiveSplits(int seqLen, int splits)
    {
        if (seqLen <= 0) return 0;
        int perSplit = KeysPerSplit(seqLen, splits);
        return (seqLen + perSplit - 1) / perSplit;
    }
}
