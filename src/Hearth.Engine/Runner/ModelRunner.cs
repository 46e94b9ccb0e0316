using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Hearth.Engine.Scheduling;
using Hearth.Models;

namespace Hearth.Engine.Runner;

/// <summary>
/// Runs one batched forward per step for all scheduled tokens of all sequences: uploads the step's flat
/// inputs into device buffers allocated once, calls the model, and brings the needed logits to the host.
/// On CUDA, pure decode steps are padded to a batch-size bucket and replayed from a CUDA graph per bucket.
/// </summary>
public sealed partial class ModelRunner : IDisposable
{
    private readonly IBackend _backend;
    private readonly ICausalLanguageModel _model;
    private readonly PagedKvCache _cache;
    private readonly AttentionMetadata _metadata = new();
    private readonly List<DeviceBuffer> _buffers = [];
    private readonly Tensor _tokenIds, _positions, _slotMapping; // [maxTokens]
    private readonly Tensor _queryStartLocs;                      // [maxSeqs + 1]
    private readonly Tensor _seqLens;                             // [maxSeqs]
    private readonly Tensor _blockTables;                         // [maxSeqs · maxBlocksPerSeq]
    private readonly Tensor _logitRows;                           // [maxLogitRows]
    private readonly Tensor _sampledIds;                          // [maxLogitRows] greedy tokens picked on the device
    private readonly float[] _hostLogits;                         // [maxLogitRows, vocab]
    private readonly bool _logitsInHostMemory;

    public ModelRunner(IBackend backend, ICausalLanguageModel model, PagedKvCache cache, int maxSeqs, int maxBlocksPerSeq)
    {
        _backend = backend;
        _model = model;
        _cache = cache;
        int maxTokens = model.MaxTokensPerStep;
        _tokenIds = AllocateInt(maxTokens);
        _positions = AllocateInt(maxTokens);
        _slotMapping = AllocateInt(maxTokens);
        _queryStartLocs = AllocateInt(maxSeqs + 1);
        _seqLens = AllocateInt(maxSeqs);
        _blockTables = AllocateInt(maxSeqs * maxBlocksPerSeq);
        _logitRows = AllocateInt(model.MaxLogitRows);
        _sampledIds = AllocateInt(model.MaxLogitRows);
        _cuda = backend as CudaBackend;
        _logitsInHostMemory = backend is CpuBackend && backend.ActivationDType == DType.F32;
        _hostLogits = _logitsInHostMemory ? [] : new float[(long)model.MaxLogitRows * model.VocabSize];
        _maxBucket = Math.Min(Math.Min(maxSeqs, maxTokens), model.MaxLogitRows);
        _useGraphs = _cuda is not null && Environment.GetEnvironmentVariable("HEARTH_CUDA_GRAPHS") != "0";
        _padded = new PaddedInputs(_maxBucket, maxBlocksPerSeq);
        _maxSeqs = maxSeqs;
        RunAhead = _cuda is not null && Environment.GetEnvironmentVariable("HEARTH_RUN_AHEAD") != "0";
    }

    private readonly int _maxSeqs;

    public int VocabSize => _model.VocabSize;

    /// <summary>Where <see cref="RunGreedy"/> marks its phases (HEARTH_STEP_PROFILE); null: nowhere.</summary>
    internal Core.StepProfile? Profile
    {
        get => _profile;
        init
        {
            _profile = value;
            if (value is not null && _cuda is not null) _gpuTimes = new GpuStepTimes(_cuda);
        }
    }

    private readonly Core.StepProfile? _profile;
    private readonly GpuStepTimes? _gpuTimes;
    private bool _markGpu;

    /// <summary>The GPU side of the step profile (empty without one).</summary>
    internal string GpuProfileText => _gpuTimes?.Format() ?? "";

    public PagedKvCache Cache => _cache;

    /// <summary>
    /// Runs the step in <paramref name="inputs"/>; row r of the result holds the next-token logits after token
    /// row <paramref name="logitRows"/>[r]. With no logit rows the cache is still filled (a prefill chunk).
    /// </summary>
    public ReadOnlySpan<float> Run(BatchInputs inputs, ReadOnlySpan<int> logitRows)
    {
        var logits = Forward(inputs, logitRows, out int bucket);
        int rows = logitRows.Length;
        if (rows == 0)
        {
            _backend.Synchronize();
            return ReadOnlySpan<float>.Empty;
        }
        if (_logitsInHostMemory)
        {
            // The CPU backend's logits already lie in host memory, valid until the next step: no 19 MB copy per batch.
            unsafe { return new ReadOnlySpan<float>((void*)logits.Data, rows * _model.VocabSize); }
        }
        var host = _hostLogits.AsSpan(0, rows * _model.VocabSize);
        _backend.CopyToHost<float>(logits.SliceRows(0, rows), host);
        if (bucket > 0) CountEagerStep(bucket);
        return host;
    }

    /// <summary>True when <see cref="RunGreedy"/> can pick tokens on the device (CUDA; HEARTH_GPU_SAMPLING=0 turns it off).</summary>
    public bool CanSampleGreedyOnDevice => _cuda is not null && Environment.GetEnvironmentVariable("HEARTH_GPU_SAMPLING") != "0";

    /// <summary>
    /// True when <see cref="RunGreedy"/> can pick tokens inside the backend: on the GPU (see
    /// <see cref="CanSampleGreedyOnDevice"/>) or on the CPU, whose worker pool shares a batch's rows.
    /// </summary>
    public bool CanPickGreedyInBackend => CanSampleGreedyOnDevice || _backend is CpuBackend;

    /// <summary>
    /// Like <see cref="Run"/> but picks each row's most likely token in the backend (on the GPU, so only the
    /// token ids [rows] cross to the host). Same tie rule as the CPU sampler's greedy path (the lowest id).
    /// With <paramref name="runAhead"/> (the caller expects the next step to be this batch again, each sequence feeding
    /// the token picked now) the next step is enqueued before this one's tokens are read back (<see cref="RunAhead"/>).
    /// </summary>
    public void RunGreedy(BatchInputs inputs, ReadOnlySpan<int> logitRows, Span<int> tokens, bool runAhead = false)
    {
        if (!CanPickGreedyInBackend) throw new InvalidOperationException($"the {_backend.Name} backend cannot pick greedy tokens here");
        int rows = logitRows.Length;
        if (rows == 0 || tokens.Length < rows) throw new ArgumentException("one token per logit row is needed");
        if (_cuda is not null && RunAhead && _gpuTimes is null)
        {
            RunGreedyAhead(inputs, logitRows, tokens, runAhead);
            return;
        }
        var ids = _sampledIds.SliceRows(0, rows);
        int bucket;
        if (_cuda is not null)
        {
            _markGpu = _gpuTimes is not null;
            _gpuTimes?.Record(GpuMark.Start);
            // Outside the captured graph: the graphs replay the forward pass alone.
            var logits = Forward(inputs, logitRows, out bucket);
            Profile?.Mark(Core.StepPhase.Launch);
            _gpuTimes?.Record(GpuMark.Launched);
            _cuda.ArgMaxRows(logits.SliceRows(0, rows), ids);
            Profile?.Mark(Core.StepPhase.Pick);
            _gpuTimes?.Record(GpuMark.Picked);
        }
        else
        {
            // The CPU picks inside the lm_head, while each chunk of logits is still in cache.
            Forward(inputs, logitRows, out bucket, ids);
            Profile?.Mark(Core.StepPhase.Launch);
        }
        _backend.CopyToHost<int>(ids, tokens[..rows]);
        Profile?.Mark(Core.StepPhase.Wait);
        if (_markGpu)
        {
            // Recorded after the copy returned, so it completes at once: the copy's end to the next step's start is idle.
            _gpuTimes!.Record(GpuMark.Copied);
            _cuda!.Synchronize();
            if (bucket > 0) _gpuTimes.EndStep(bucket);
            else _gpuTimes.Interrupt();
            _markGpu = false;
        }
        if (bucket > 0) CountEagerStep(bucket);
    }

    /// <summary>Uploads the step and enqueues the forward pass; returns the device logits, whose leading rows follow logitRows.</summary>
    private Tensor Forward(BatchInputs inputs, ReadOnlySpan<int> logitRows, out int bucket, Tensor? greedyIds = null)
    {
        int n = inputs.NumTokens, seqs = inputs.NumSeqs, rows = logitRows.Length;
        if (n <= 0 || seqs <= 0) throw new InvalidOperationException("an empty step");
        DropRunAhead();
        if (!_markGpu) _gpuTimes?.Interrupt();
        if (rows > _model.MaxLogitRows) throw new ArgumentException($"{rows} logit rows, the model was sized for {_model.MaxLogitRows}");

        bucket = greedyIds is null ? DecodeBucket(inputs, logitRows) : 0;
        if (bucket > 0) return ForwardDecodeBucket(inputs, bucket);

        int tableLength = seqs * inputs.MaxBlocksPerSeq;
        _backend.CopyToDevice<int>(inputs.TokenIds.AsSpan(0, n), _tokenIds.SliceRows(0, n));
        _backend.CopyToDevice<int>(inputs.Positions.AsSpan(0, n), _positions.SliceRows(0, n));
        _backend.CopyToDevice<int>(inputs.SlotMapping.AsSpan(0, n), _slotMapping.SliceRows(0, n));
        _backend.CopyToDevice<int>(inputs.QueryStartLocs.AsSpan(0, seqs + 1), _queryStartLocs.SliceRows(0, seqs + 1));
        _backend.CopyToDevice<int>(inputs.SeqLens.AsSpan(0, seqs), _seqLens.SliceRows(0, seqs));
        _backend.CopyToDevice<int>(inputs.BlockTables.AsSpan(0, tableLength), _blockTables.SliceRows(0, tableLength));

        inputs.CopyCountsTo(_metadata);
        _metadata.QueryStartLocs = _queryStartLocs.SliceRows(0, seqs + 1);
        _metadata.SeqLens = _seqLens.SliceRows(0, seqs);
        _metadata.BlockTables = _blockTables.SliceRows(0, tableLength).Reshape(new Shape(seqs, inputs.MaxBlocksPerSeq));
        _metadata.SlotMapping = _slotMapping.SliceRows(0, n);
        _metadata.Positions = _positions.SliceRows(0, n);

        // The model always computes at least one logit row; a pure prefill chunk asks for its last token's and ignores it.
        int lastRow = n - 1;
        ReadOnlySpan<int> rowsToCompute = rows == 0 ? new ReadOnlySpan<int>(in lastRow) : logitRows;
        _backend.CopyToDevice(rowsToCompute, _logitRows.SliceRows(0, rowsToCompute.Length));
        _cuda?.BeginForward(n);
        return _model.Forward(_tokenIds.SliceRows(0, n), _metadata, _logitRows.SliceRows(0, rowsToCompute.Length), _cache.Layers,
            rows == 0 ? null : greedyIds);
    }

    private Tensor AllocateInt(int count)
    {
        count = Math.Max(1, count);
        var buffer = _backend.Allocate((long)count * sizeof(int));
        _buffers.Add(buffer);
        return buffer.AsTensor(DType.I32, new Shape(count));
    }

    public void Dispose()
    {
        DisposeRunAhead();
        _gpuTimes?.Dispose();
        DisposeGraphs();
        DisposeSampling();
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}
