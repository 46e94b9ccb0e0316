using System.Diagnostics;
using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Engine.Runner;

// CUDA graphs for decode steps. A step where every sequence feeds one token is padded to the next bucket
// (1, 2, 4, 8, ...): padded rows write no KV (slot -1) and read one harmless cached key; their logits are
// ignored. The first steps of a bucket run eagerly (cuBLASLt plans and kernels get created then), the
// next is captured, later ones replay, unless the first replayed step runs slower than the same step eagerly. Every kernel argument in the graph is fixed per bucket: the
// runner's buffers never move, and kernels read lengths and block tables from device memory.
public sealed partial class ModelRunner
{
    private readonly CudaBackend? _cuda;
    private readonly int _maxBucket;
    private readonly PaddedInputs _padded;
    private readonly Dictionary<int, (CudaGraph Graph, Tensor Logits)> _graphs = [];
    private readonly Dictionary<int, BucketStats> _bucketStats = [];
    private const int EagerStepsBeforeCapture = 2;
    private const int JudgeRounds = 2;

    /// <summary>
    /// Decode steps of one bucket before its graph replays as a matter of course: the eager ones, the capture and the
    /// judged first replay (which re-runs the step four more times). A benchmark warms each bucket up this long.
    /// </summary>
    public const int DecodeStepsBeforeSteadyState = EagerStepsBeforeCapture + 2;
    private bool _useGraphs;
    // The last decode step staged for a graph: its bucket and its sequences. Only that bucket's graph finds
    // coherent inputs in the device buffers (a smaller bucket's step since has overwritten their leading rows).
    private int _lastDecodeBucket, _lastDecodeRows;

    /// <summary>Decode graphs captured so far (one per batch-size bucket).</summary>
    public int NumCapturedGraphs => _graphs.Count;

    private int DecodeBucket(Scheduling.BatchInputs inputs, ReadOnlySpan<int> logitRows)
    {
        int n = inputs.NumTokens;
        if (!_useGraphs || inputs.MaxQueryLen != 1 || n != inputs.NumSeqs || logitRows.Length != n) return 0;
        for (int r = 0; r < n; r++)
            if (logitRows[r] != r) return 0;
        int bucket = BucketFor(n);
        return bucket >= n ? bucket : 0;
    }

    /// <summary>The power of two at or above <paramref name="numSeqs"/>, at most the largest bucket.</summary>
    private int BucketFor(int numSeqs)
    {
        int bucket = 1;
        while (bucket < numSeqs) bucket *= 2;
        return Math.Min(bucket, _maxBucket);
    }

    private Tensor ForwardDecodeBucket(Scheduling.BatchInputs inputs, int bucket)
    {
        int blocksPerSeq = inputs.MaxBlocksPerSeq, tableLength = bucket * blocksPerSeq;
        _padded.Fill(inputs, bucket);
        (_lastDecodeBucket, _lastDecodeRows) = (bucket, inputs.NumSeqs);
        _backend.CopyToDevice<int>(_padded.TokenIds.AsSpan(0, bucket), _tokenIds.SliceRows(0, bucket));
        _backend.CopyToDevice<int>(_padded.Positions.AsSpan(0, bucket), _positions.SliceRows(0, bucket));
        _backend.CopyToDevice<int>(_padded.SlotMapping.AsSpan(0, bucket), _slotMapping.SliceRows(0, bucket));
        _backend.CopyToDevice<int>(_padded.QueryStartLocs.AsSpan(0, bucket + 1), _queryStartLocs.SliceRows(0, bucket + 1));
        _backend.CopyToDevice<int>(_padded.SeqLens.AsSpan(0, bucket), _seqLens.SliceRows(0, bucket));
        _backend.CopyToDevice<int>(inputs.BlockTables.AsSpan(0, tableLength), _blockTables.SliceRows(0, tableLength));
        _backend.CopyToDevice<int>(_padded.Rows.AsSpan(0, bucket), _logitRows.SliceRows(0, bucket));
        Profile?.Mark(Core.StepPhase.Upload);
        if (_markGpu) _gpuTimes!.Record(GpuMark.Uploaded);

        var stats = Stats(bucket);
        if (_graphs.TryGetValue(bucket, out var captured) && (stats.Judged || KeepGraph(bucket, captured.Graph, blocksPerSeq)))
        {
            _cuda!.Replay(captured.Graph);
            stats.Mode = BucketMode.Graph;
            return captured.Logits;
        }
        if (stats.NumEager >= EagerStepsBeforeCapture && !stats.EagerOnly)
        {
            stats.Mode = BucketMode.Capture;
            return Capture(bucket) ?? ForwardBucket(bucket, blocksPerSeq);
        }
        stats.Mode = BucketMode.Eager;
        return ForwardBucket(bucket, blocksPerSeq);
    }

    /// <summary>
    /// Replays the captured graph of the bucket that <paramref name="numSeqs"/> decoding sequences use, back to back,
    /// on its last step's inputs (it rewrites the same cache slots and logits); null when that bucket has no graph or
    /// the last decode step was another bucket's.
    /// </summary>
    public GraphReplayTiming? TimeDecodeGraph(int numSeqs, int replays)
    {
        if (_cuda is null || replays < 1) return null;
        int bucket = BucketFor(numSeqs);
        if (bucket != _lastDecodeBucket || !_graphs.TryGetValue(bucket, out var captured)) return null;
        DropRunAhead();
        _cuda.Replay(captured.Graph);
        _cuda.Synchronize();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < replays; i++) _cuda.Replay(captured.Graph);
        double launchMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds / replays;
        _cuda.Synchronize();
        double replayMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds / replays;
        return new GraphReplayTiming(bucket, captured.Graph.NumNodes, launchMs, replayMs, _lastDecodeRows);
    }

    /// <summary>Counts a bucket's eager steps (the first ones run eagerly, then the graph is captured).</summary>
    private void CountEagerStep(int bucket)
    {
        var stats = Stats(bucket);
        if (stats.Mode == BucketMode.Eager) stats.NumEager++;
    }

    /// <summary>
    /// Keeps a bucket's graph only if it is actually faster, judged once, at its first replayed step, on that
    /// step's own inputs: replayed and eager, each synchronized, best of <see cref="JudgeRounds"/>. Re-running a
    /// decode step is harmless (it writes the same keys and values to the same slots and the same logits), and
    /// timing both on one step keeps the comparison fair: steps of one bucket differ in real rows and contexts
    /// (a bucket of 64 first runs with 33 rows), so the time of one step against another's says nothing.
    /// </summary>
    private bool KeepGraph(int bucket, CudaGraph graph, int blocksPerSeq)
    {
        var cuda = _cuda!;
        var stats = Stats(bucket);
        stats.Judged = true;
        double graphSeconds = double.MaxValue, eagerSeconds = double.MaxValue;
        for (int round = 0; round < JudgeRounds; round++)
        {
            cuda.Synchronize();
            long start = Stopwatch.GetTimestamp();
            cuda.Replay(graph);
            cuda.Synchronize();
            graphSeconds = Math.Min(graphSeconds, Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            ForwardBucket(bucket, blocksPerSeq);
            cuda.Synchronize();
            eagerSeconds = Math.Min(eagerSeconds, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        if (graphSeconds <= eagerSeconds * 1.02) return true;
        Console.Error.WriteLine($"warning: the CUDA graph for batch {bucket} is slower than eager launches "
            + $"({graphSeconds * 1e3:F2} ms vs {eagerSeconds * 1e3:F2} ms for the same step); not using it");
        graph.Dispose();
        _graphs.Remove(bucket);
        stats.EagerOnly = true;
        return false;
    }

    private BucketStats Stats(int bucket)
    {
        if (!_bucketStats.TryGetValue(bucket, out var stats)) _bucketStats.Add(bucket, stats = new BucketStats());
        return stats;
    }

    private Tensor ForwardBucket(int bucket, int blocksPerSeq)
    {
        _metadata.NumSeqs = bucket;
        _metadata.NumTokens = bucket;
        _metadata.MaxQueryLen = 1;
        _metadata.MaxSeqLen = blocksPerSeq * _cache.BlockSize;
        _metadata.QueryStartLocs = _queryStartLocs.SliceRows(0, bucket + 1);
        _metadata.SeqLens = _seqLens.SliceRows(0, bucket);
        _metadata.BlockTables = _blockTables.SliceRows(0, bucket * blocksPerSeq).Reshape(new Shape(bucket, blocksPerSeq));
        _metadata.SlotMapping = _slotMapping.SliceRows(0, bucket);
        _metadata.Positions = _positions.SliceRows(0, bucket);
        _cuda!.BeginForward(bucket);
        return _model.Forward(_tokenIds.SliceRows(0, bucket), _metadata, _logitRows.SliceRows(0, bucket), _cache.Layers);
    }

    /// <summary>Captures and launches the bucket's graph; on failure turns graphs off (with a warning) and returns null.</summary>
    private Tensor? Capture(int bucket)
    {
        var cuda = _cuda!;
        int blocksPerSeq = _padded.MaxBlocksPerSeq;
        Tensor logits;
        cuda.BeginCapture();
        try
        {
            logits = ForwardBucket(bucket, blocksPerSeq);
        }
        catch (Exception e)
        {
            try { cuda.EndCapture().Dispose(); } catch (global::Hearth.Core.HearthException) { }
            _useGraphs = false;
            Console.Error.WriteLine($"warning: CUDA graph capture failed, decoding without graphs: {e.Message.ReplaceLineEndings(" ")}");
            return null;
        }
        var graph = cuda.EndCapture();
        _graphs.Add(bucket, (graph, logits));
        cuda.Replay(graph);
        return logits;
    }

    private enum BucketMode { Eager, Capture, Graph }

    private sealed class BucketStats
    {
        public BucketMode Mode;
        public int NumEager;
        public bool EagerOnly, Judged;
    }

    private void DisposeGraphs()
    {
        foreach (var (graph, _) in _graphs.Values) graph.Dispose();
        _graphs.Clear();
    }

    /// <summary>Host copies of one decode step's inputs, padded to a bucket.</summary>
    private sealed class PaddedInputs(int maxBucket, int maxBlocksPerSeq)
    {
        public int MaxBlocksPerSeq { get; } = maxBlocksPerSeq;
        public int[] TokenIds { get; } = new int[maxBucket];
        public int[] Positions { get; } = new int[maxBucket];
        public int[] SlotMapping { get; } = new int[maxBucket];
        public int[] QueryStartLocs { get; } = new int[maxBucket + 1];
        public int[] SeqLens { get; } = new int[maxBucket];
        public int[] Rows { get; } = Enumerable.Range(0, maxBucket).ToArray();

        public void Fill(Scheduling.BatchInputs inputs, int bucket)
        {
            int n = inputs.NumTokens;
            inputs.TokenIds.AsSpan(0, n).CopyTo(TokenIds);
            inputs.Positions.AsSpan(0, n).CopyTo(Positions);
            inputs.SlotMapping.AsSpan(0, n).CopyTo(SlotMapping);
            inputs.QueryStartLocs.AsSpan(0, n + 1).CopyTo(QueryStartLocs);
            inputs.SeqLens.AsSpan(0, n).CopyTo(SeqLens);
            for (int i = n; i < bucket; i++)
            {
                TokenIds[i] = 0;
                Positions[i] = 0;
                SlotMapping[i] = -1;
                QueryStartLocs[i + 1] = i + 1;
                SeqLens[i] = 1;
            }
        }
    }
}
