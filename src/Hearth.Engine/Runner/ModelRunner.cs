using Hearth.Backends;
using Hearth.Core;
using Hearth.Models;

namespace Hearth.Engine.Runner;

/// <summary>
/// Runs one batched forward per step for all scheduled tokens of all sequences: uploads the step's flat
/// inputs into device buffers allocated once, calls the model, and brings the needed logits back to the host.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private readonly IBackend _backend;
    private readonly ICausalLanguageModel _model;
    private readonly PagedKvCache _cache;
    private readonly AttentionMetadata _metadata = new();
    private readonly List<DeviceBuffer> _buffers = [];
    private readonly Tensor _tokenIds, _positions, _slotMapping, _queryStartLocs, _seqLens, _blockTables, _logitRows;
    private readonly float[] _hostLogits; // [maxLogitRows, vocab]

    public ModelRunner(IBackend backend, ICausalLanguageModel model, PagedKvCache cache, int maxBlocksPerSeq)
    {
        _backend = backend;
        _model = model;
        _cache = cache;
        int maxTokens = model.MaxTokensPerStep, maxSeqs = model.MaxLogitRows;
        Inputs = new StepInputs(maxTokens, maxSeqs, maxBlocksPerSeq);
        _tokenIds = AllocateInt(maxTokens);
        _positions = AllocateInt(maxTokens);
        _slotMapping = AllocateInt(maxTokens);
        _queryStartLocs = AllocateInt(maxSeqs + 1);
        _seqLens = AllocateInt(maxSeqs);
        _blockTables = AllocateInt(maxSeqs * maxBlocksPerSeq);
        _logitRows = AllocateInt(maxSeqs);
        _hostLogits = new float[(long)maxSeqs * model.VocabSize];
    }

    /// <summary>The arrays the scheduler fills before each <see cref="Run"/>.</summary>
    public StepInputs Inputs { get; }

    public int VocabSize => _model.VocabSize;

    public PagedKvCache Cache => _cache;

    /// <summary>Runs the step in <see cref="Inputs"/>; row r of the result holds the logits of Inputs.LogitRows[r].</summary>
    public ReadOnlySpan<float> Run()
    {
        var s = Inputs;
        int n = s.NumTokens, seqs = s.NumSeqs, rows = s.NumLogitRows;
        if (n <= 0 || seqs <= 0) throw new InvalidOperationException("an empty step");

        _backend.CopyToDevice<int>(s.TokenIds.AsSpan(0, n), _tokenIds.SliceRows(0, n));
        _backend.CopyToDevice<int>(s.Positions.AsSpan(0, n), _positions.SliceRows(0, n));
        _backend.CopyToDevice<int>(s.SlotMapping.AsSpan(0, n), _slotMapping.SliceRows(0, n));
        _backend.CopyToDevice<int>(s.QueryStartLocs.AsSpan(0, seqs + 1), _queryStartLocs.SliceRows(0, seqs + 1));
        _backend.CopyToDevice<int>(s.SeqLens.AsSpan(0, seqs), _seqLens.SliceRows(0, seqs));
        int tableLength = seqs * s.MaxBlocksPerSeq;
        _backend.CopyToDevice<int>(s.BlockTables.AsSpan(0, tableLength), _blockTables.SliceRows(0, tableLength));

        int maxQuery = 0, maxSeq = 0;
        for (int i = 0; i < seqs; i++)
        {
            maxQuery = Math.Max(maxQuery, s.QueryStartLocs[i + 1] - s.QueryStartLocs[i]);
            maxSeq = Math.Max(maxSeq, s.SeqLens[i]);
        }
        _metadata.NumSeqs = seqs;
        _metadata.NumTokens = n;
        _metadata.MaxQueryLen = maxQuery;
        _metadata.MaxSeqLen = maxSeq;
        _metadata.QueryStartLocs = _queryStartLocs.SliceRows(0, seqs + 1);
        _metadata.SeqLens = _seqLens.SliceRows(0, seqs);
        _metadata.BlockTables = _blockTables.SliceRows(0, tableLength).Reshape(new Shape(seqs, s.MaxBlocksPerSeq));
        _metadata.SlotMapping = _slotMapping.SliceRows(0, n);
        _metadata.Positions = _positions.SliceRows(0, n);

        if (rows == 0)
        {
            // Every sequence is mid-prefill: the cache still has to be filled, but no logits are read.
            _backend.CopyToDevice<int>([s.QueryStartLocs[seqs] - 1], _logitRows.SliceRows(0, 1));
            _model.Forward(_tokenIds.SliceRows(0, n), _metadata, _logitRows.SliceRows(0, 1), _cache.Layers);
            _backend.Synchronize();
            return ReadOnlySpan<float>.Empty;
        }
        _backend.CopyToDevice<int>(s.LogitRows.AsSpan(0, rows), _logitRows.SliceRows(0, rows));
        var logits = _model.Forward(_tokenIds.SliceRows(0, n), _metadata, _logitRows.SliceRows(0, rows), _cache.Layers);
        var host = _hostLogits.AsSpan(0, rows * _model.VocabSize);
        _backend.CopyToHost<float>(logits, host);
        return host;
    }

    private Tensor AllocateInt(int count)
    {
        var buffer = _backend.Allocate((long)Math.Max(1, count) * sizeof(int));
        _buffers.Add(buffer);
        return buffer.AsTensor(DType.I32, new Shape(Math.Max(1, count)));
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}
