namespace Hearth.Engine.Runner;

/// <summary>
/// One step's batch as flat host arrays, allocated once for the largest step and refilled in place by
/// the scheduler. Sequence i owns token rows QueryStartLocs[i] .. QueryStartLocs[i+1].
/// </summary>
public sealed class StepInputs
{
    public StepInputs(int maxTokens, int maxSeqs, int maxBlocksPerSeq)
    {
        MaxTokens = maxTokens;
        MaxSeqs = maxSeqs;
        MaxBlocksPerSeq = maxBlocksPerSeq;
        TokenIds = new int[maxTokens];
        Positions = new int[maxTokens];
        SlotMapping = new int[maxTokens];
        QueryStartLocs = new int[maxSeqs + 1];
        SeqLens = new int[maxSeqs];
        BlockTables = new int[maxSeqs * maxBlocksPerSeq];
        LogitRows = new int[maxSeqs];
    }

    public int MaxTokens { get; }
    public int MaxSeqs { get; }
    public int MaxBlocksPerSeq { get; }

    public int NumTokens { get; set; }
    public int NumSeqs { get; set; }
    /// <summary>How many entries of <see cref="LogitRows"/> are in use.</summary>
    public int NumLogitRows { get; set; }

    public int[] TokenIds { get; }       // [maxTokens]
    public int[] Positions { get; }      // [maxTokens]
    public int[] SlotMapping { get; }    // [maxTokens]
    public int[] QueryStartLocs { get; } // [maxSeqs + 1]
    public int[] SeqLens { get; }        // [maxSeqs] cached + new tokens after this step
    public int[] BlockTables { get; }    // [maxSeqs, maxBlocksPerSeq] row-major; unused entries are 0
    public int[] LogitRows { get; }      // [maxSeqs] token rows whose next-token logits are needed
}
