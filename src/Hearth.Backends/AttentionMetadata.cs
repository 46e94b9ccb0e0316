namespace Hearth.Backends;

/// <summary>
/// Describes one step's variable-length batch to the attention and cache ops. The engine fills it in
/// place every step (nothing is allocated per step). Sequence i owns query rows
/// QueryStartLocs[i] .. QueryStartLocs[i+1]; those rows are its newest tokens, so the query row j of
/// sequence i sits at position SeqLens[i] - queryLen_i + j and attends causally to cache slots 0..that position.
/// All tensors are I32 in backend memory.
/// </summary>
public sealed class AttentionMetadata
{
    public int NumSeqs { get; set; }

    public int NumTokens { get; set; }

    /// <summary>The longest query (new tokens) of any sequence this step.</summary>
    public int MaxQueryLen { get; set; }

    /// <summary>The longest context (cached + new tokens) of any sequence this step.</summary>
    public int MaxSeqLen { get; set; }

    /// <summary>[numSeqs + 1] prefix sums of query lengths.</summary>
    public Tensor QueryStartLocs { get; set; }

    /// <summary>[numSeqs] tokens in the cache for each sequence after this step's writes.</summary>
    public Tensor SeqLens { get; set; }

    /// <summary>[numSeqs, maxBlocksPerSeq] block ids; row i lists sequence i's blocks in order.</summary>
    public Tensor BlockTables { get; set; }

    /// <summary>[numTokens] the cache slot each new token's key and value are written to.</summary>
    public Tensor SlotMapping { get; set; }

    /// <summary>[numTokens] the position of each token, for RoPE.</summary>
    public Tensor Positions { get; set; }
}
