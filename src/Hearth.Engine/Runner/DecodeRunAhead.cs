using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Runner;

/// <summary>
/// The host's side of run-ahead decoding. From one pure decode step (one token a sequence) it predicts the step after
/// it, if every sequence goes on feeding the token this step picks: positions and lengths one further, the next slot
/// of the same block tables. The GPU advances its own copy of the inputs by the same rule (CudaBackend's
/// AdvanceDecodeInputs) and runs that step before the host has read the picks; <see cref="Matches"/> then says whether
/// the step the scheduler asks for is exactly the one already running.
/// </summary>
public sealed class DecodeRunAhead
{
    private readonly int[] _positions, _slotMapping, _seqLens, _fedTokens; // [maxSeqs] the predicted step's inputs
    private readonly int[] _blockTables;                                  // [maxSeqs, maxBlocksPerSeq]
    private readonly int _maxBlocksPerSeq;

    public DecodeRunAhead(int maxSeqs, int maxBlocksPerSeq)
    {
        _positions = new int[maxSeqs];
        _slotMapping = new int[maxSeqs];
        _seqLens = new int[maxSeqs];
        _fedTokens = new int[maxSeqs];
        _blockTables = new int[checked(maxSeqs * maxBlocksPerSeq)];
        _maxBlocksPerSeq = maxBlocksPerSeq;
    }

    /// <summary>Sequences of the predicted step; 0 when nothing is predicted.</summary>
    public int NumSeqs { get; private set; }

    /// <summary>True once <see cref="SetFedTokens"/> gave the predicted step its tokens (the picks the host read back).</summary>
    public bool HasFedTokens { get; private set; }

    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, NumSeqs);

    public ReadOnlySpan<int> SlotMapping => _slotMapping.AsSpan(0, NumSeqs);

    public ReadOnlySpan<int> SeqLens => _seqLens.AsSpan(0, NumSeqs);

    /// <summary>True when <paramref name="inputs"/> is a step of one token for each sequence (and nothing else).</summary>
    public static bool IsPureDecode(BatchInputs inputs) =>
        inputs.NumSeqs > 0 && inputs.NumTokens == inputs.NumSeqs && inputs.MaxQueryLen == 1 && inputs.NumSampled == inputs.NumSeqs;

    /// <summary>
    /// Predicts the step after <paramref name="inputs"/>, a pure decode step. False (and nothing predicted) when some
    /// sequence's next position lies past the blocks it holds: the scheduler allocates that block only when it
    /// schedules the step, so the GPU could not know the slot.
    /// </summary>
    public bool TryPredict(BatchInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        NumSeqs = 0;
        HasFedTokens = false;
        if (!IsPureDecode(inputs) || inputs.MaxBlocksPerSeq != _maxBlocksPerSeq || inputs.NumSeqs > _positions.Length) return false;
        int n = inputs.NumSeqs, blockSize = inputs.BlockSize;
        for (int r = 0; r < n; r++)
            if ((inputs.Positions[r] + 1) / blockSize >= inputs.BlockTableRowLength(r)) return false;
        inputs.BlockTables.AsSpan(0, n * _maxBlocksPerSeq).CopyTo(_blockTables);
        Advance(inputs.Positions.AsSpan(0, n), _blockTables, _maxBlocksPerSeq, blockSize, _positions, _seqLens, _slotMapping);
        NumSeqs = n;
        return true;
    }

    /// <summary>The tokens the predicted step feeds: the picks of the step it follows, as the host read them back.</summary>
    public void SetFedTokens(ReadOnlySpan<int> picked)
    {
        if (picked.Length != NumSeqs) throw new ArgumentException($"{picked.Length} picks for a predicted step of {NumSeqs} sequences");
        picked.CopyTo(_fedTokens);
        HasFedTokens = true;
    }

    /// <summary>True when <paramref name="inputs"/> is exactly the predicted step (its tokens included).</summary>
    public bool Matches(BatchInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int n = NumSeqs;
        if (n == 0 || !HasFedTokens || !IsPureDecode(inputs) || inputs.NumSeqs != n || inputs.MaxBlocksPerSeq != _maxBlocksPerSeq) return false;
        return inputs.TokenIds.AsSpan(0, n).SequenceEqual(_fedTokens.AsSpan(0, n))
            && inputs.Positions.AsSpan(0, n).SequenceEqual(_positions.AsSpan(0, n))
            && inputs.SlotMapping.AsSpan(0, n).SequenceEqual(_slotMapping.AsSpan(0, n))
            && inputs.SeqLens.AsSpan(0, n).SequenceEqual(_seqLens.AsSpan(0, n))
            && inputs.BlockTables.AsSpan(0, n * _maxBlocksPerSeq).SequenceEqual(_blockTables.AsSpan(0, n * _maxBlocksPerSeq));
    }

    public void Clear()
    {
        NumSeqs = 0;
        HasFedTokens = false;
    }

    /// <summary>
    /// The rule both sides follow (the GPU's advance_decode_inputs kernel is checked against it): each row's next
    /// position, its length after that step, and its KV slot in its block table row ([rows, maxBlocksPerSeq]).
    /// </summary>
    public static void Advance(ReadOnlySpan<int> positions, ReadOnlySpan<int> blockTables, int maxBlocksPerSeq, int blockSize,
        Span<int> nextPositions, Span<int> nextSeqLens, Span<int> nextSlots)
    {
        for (int r = 0; r < positions.Length; r++)
        {
            int pos = positions[r] + 1;
            nextPositions[r] = pos;
            nextSeqLens[r] = pos + 1;
            nextSlots[r] = blockTables[r * maxBlocksPerSeq + pos / blockSize] * blockSize + pos % blockSize;
        }
    }
}
