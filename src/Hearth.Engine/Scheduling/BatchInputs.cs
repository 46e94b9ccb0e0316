using Hearth.Backends;
using Hearth.Core.Config;

namespace Hearth.Engine.Scheduling;

/// <summary>
/// The flat int arrays a model runner uploads for one step, allocated once at their largest size and
/// refilled in place from a <see cref="SchedulerOutput"/>. Only the leading NumTokens / NumSeqs entries
/// of each array are meaningful after <see cref="Fill"/>.
/// </summary>
public sealed class BatchInputs
{
    private readonly int[] _blockTableRowLengths; // [maxNumSeqs] entries of each row written by the last Fill

    public BatchInputs(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        BlockSize = config.BlockSize;
        MaxBlocksPerSeq = config.MaxBlocksPerSeq;
        TokenIds = new int[config.MaxNumBatchedTokens];
        Positions = new int[config.MaxNumBatchedTokens];
        SlotMapping = new int[config.MaxNumBatchedTokens];
        QueryStartLocs = new int[config.MaxNumSeqs + 1];
        SeqLens = new int[config.MaxNumSeqs];
        BlockTables = new int[checked(config.MaxNumSeqs * MaxBlocksPerSeq)];
        SampleRowIndices = new int[config.MaxNumSeqs];
        SampleSeqIndices = new int[config.MaxNumSeqs];
        _blockTableRowLengths = new int[config.MaxNumSeqs];
    }

    public int BlockSize { get; }

    /// <summary>Row stride of <see cref="BlockTables"/>.</summary>
    public int MaxBlocksPerSeq { get; }

    public int NumTokens { get; private set; }

    public int NumSeqs { get; private set; }

    /// <summary>Sequences that sample this step: the leading entries of the two Sample arrays.</summary>
    public int NumSampled { get; private set; }

    public int MaxQueryLen { get; private set; }

    public int MaxSeqLen { get; private set; }

    /// <summary>[maxNumBatchedTokens] token fed at each row.</summary>
    public int[] TokenIds { get; }

    /// <summary>[maxNumBatchedTokens] position of each row's token, for RoPE.</summary>
    public int[] Positions { get; }

    /// <summary>[maxNumBatchedTokens] KV slot each row writes: blockTable[pos / blockSize] * blockSize + pos % blockSize.</summary>
    public int[] SlotMapping { get; }

    /// <summary>[maxNumSeqs + 1] prefix sums of the query lengths; sequence i owns rows [i] .. [i+1].</summary>
    public int[] QueryStartLocs { get; }

    /// <summary>[maxNumSeqs] tokens in the cache for each sequence after this step.</summary>
    public int[] SeqLens { get; }

    /// <summary>[maxNumSeqs, maxBlocksPerSeq] each sequence's blocks, rows padded with block 0 so a kernel reading past a row still reads a valid id.</summary>
    public int[] BlockTables { get; }

    /// <summary>[maxNumSeqs] the row whose logits are sampled, for each sampling sequence in batch order.</summary>
    public int[] SampleRowIndices { get; }

    /// <summary>[maxNumSeqs] index in the batch of the sequence each sampled row belongs to.</summary>
    public int[] SampleSeqIndices { get; }

    /// <summary>Blocks sequence <paramref name="seq"/> holds, as the last <see cref="Fill"/> wrote its table row.</summary>
    public int BlockTableRowLength(int seq) => _blockTableRowLengths[seq];

    public void Fill(SchedulerOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        IReadOnlyList<ScheduledSequence> scheduled = output.Scheduled;
        if (scheduled.Count > SeqLens.Length || output.NumBatchedTokens > TokenIds.Length)
        {
            throw new ArgumentException("The step is larger than the configuration these inputs were sized for.", nameof(output));
        }
        int row = 0, numSampled = 0, maxQueryLen = 0, maxSeqLen = 0;
        for (int i = 0; i < scheduled.Count; i++)
        {
            ScheduledSequence item = scheduled[i];
            Sequence seq = item.Sequence;
            ReadOnlySpan<int> tokens = seq.TokenIds;
            ReadOnlySpan<int> table = seq.BlockTableSpan;
            QueryStartLocs[i] = row;
            for (int j = 0; j < item.NumNewTokens; j++, row++)
            {
                int pos = item.StartPosition + j;
                TokenIds[row] = tokens[pos];
                Positions[row] = pos;
                SlotMapping[row] = table[pos / BlockSize] * BlockSize + pos % BlockSize;
            }
            SeqLens[i] = item.SeqLenAfterStep;
            Span<int> tableRow = BlockTables.AsSpan(i * MaxBlocksPerSeq, MaxBlocksPerSeq);
            table.CopyTo(tableRow);
            // Rows stay zero past what was written, so only a previous longer row needs clearing.
            if (_blockTableRowLengths[i] > table.Length) tableRow[table.Length.._blockTableRowLengths[i]].Clear();
            _blockTableRowLengths[i] = table.Length;
            if (item.SamplesToken)
            {
                SampleRowIndices[numSampled] = row - 1;
                SampleSeqIndices[numSampled] = i;
                numSampled++;
            }
            maxQueryLen = Math.Max(maxQueryLen, item.NumNewTokens);
            maxSeqLen = Math.Max(maxSeqLen, item.SeqLenAfterStep);
        }
        QueryStartLocs[scheduled.Count] = row;
        NumTokens = row;
        NumSeqs = scheduled.Count;
        NumSampled = numSampled;
        MaxQueryLen = maxQueryLen;
        MaxSeqLen = maxSeqLen;
    }

    /// <summary>Copies the step's scalar sizes into the attention metadata; the runner uploads the arrays itself.</summary>
    public void CopyCountsTo(AttentionMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        metadata.NumSeqs = NumSeqs;
        metadata.NumTokens = NumTokens;
        metadata.MaxQueryLen = MaxQueryLen;
        metadata.MaxSeqLen = MaxSeqLen;
    }
}
