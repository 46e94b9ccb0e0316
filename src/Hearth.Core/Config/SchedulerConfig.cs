namespace Hearth.Core.Config;

/// <summary>
/// Limits of the serving scheduler and the shape of its paged KV cache. NumBlocks is sized elsewhere from a
/// memory budget; everything else bounds one engine step.
/// </summary>
public sealed record SchedulerConfig
{
    /// <summary>Tokens per KV-cache block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Blocks in the one shared KV pool.</summary>
    public required int NumBlocks { get; init; }

    /// <summary>Most tokens (prefill chunks plus decodes) computed in one step.</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;

    /// <summary>Most requests running at once.</summary>
    public int MaxNumSeqs { get; init; } = 64;

    /// <summary>Longest context (prompt plus output) any request may reach.</summary>
    public int MaxModelLen { get; init; } = 4096;

    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>
    /// Most prompt tokens one request may prefill in a single step, so a long prompt cannot take the whole
    /// step's budget from other newly admitted prompts. 0 means no cap beyond MaxNumBatchedTokens.
    /// </summary>
    public int LongPrefillTokenThreshold { get; init; }

    /// <summary>Widest block-table row: the blocks a MaxModelLen-long sequence needs.</summary>
    public int MaxBlocksPerSeq => (MaxModelLen + BlockSize - 1) / BlockSize;

    /// <summary>Throws <see cref="HearthException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (BlockSize < 1) throw new HearthException($"Scheduler BlockSize must be at least 1, got {BlockSize}.");
        if (NumBlocks < 1) throw new HearthException($"Scheduler NumBlocks must be at least 1, got {NumBlocks}; the KV-cache memory budget is too small.");
        if (MaxNumBatchedTokens < 1) throw new HearthException($"Scheduler MaxNumBatchedTokens must be at least 1, got {MaxNumBatchedTokens}.");
        if (MaxNumSeqs < 1) throw new HearthException($"Scheduler MaxNumSeqs must be at least 1, got {MaxNumSeqs}.");
        if (MaxModelLen < 2) throw new HearthException($"Scheduler MaxModelLen must be at least 2, got {MaxModelLen}.");
        if (LongPrefillTokenThreshold < 0) throw new HearthException($"Scheduler LongPrefillTokenThreshold must be 0 (off) or positive, got {LongPrefillTokenThreshold}.");
    }
}
