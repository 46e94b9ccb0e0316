using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Engine.Runner;

// Run-ahead decoding: vLLM's async scheduling, for the steady state of greedy decoding from CUDA graphs. Without it the
// GPU idles between two steps while the host reads the picks back, postprocesses, schedules, uploads and launches
// (0.08-0.11 ms a step on the H100, 2-3 % of a 14B quantized step). With it, once a step is enqueued, the same batch's
// next step is enqueued behind it at once: the GPU writes the picks into that step's inputs itself (the next
// positions and slots follow from the block tables), so the host does its share while the GPU computes. When the step
// the scheduler then asks for is exactly that one, it is already running; otherwise the step run ahead is wasted work,
// and harmless: it wrote each sequence's next, not yet computed, KV slot only, in a block the sequence holds and no
// prefix-cache entry covers (a partial block), which the real step rewrites with the same values or a finished
// sequence gives back; everything later on the one stream is ordered after it.
public sealed partial class ModelRunner
{
    private const int ReadbackSlots = 2;
    private CudaHostReadback? _readback;
    private DecodeRunAhead? _ahead;
    private int _nextReadbackSlot;
    private int _aheadSlot = -1, _aheadBucket; // the readback slot and bucket of the step run ahead; -1: none

    /// <summary>
    /// Greedy decode steps on CUDA run ahead (on by default with CUDA; HEARTH_RUN_AHEAD=0 turns it off, and so does
    /// the step profile, whose marks assume one step at a time). Off, each step is read back before the next is enqueued.
    /// </summary>
    public bool RunAhead { get; set; }

    /// <summary>Greedy steps that found themselves already running.</summary>
    public long NumRunAheadHits { get; private set; }

    /// <summary>Steps run ahead that the scheduler did not ask for (a sequence ended or the batch changed).</summary>
    public long NumRunAheadMisses { get; private set; }

    /// <summary>The greedy step on the stream: reads only the ids back, through a page-locked slot, and runs the next step ahead.</summary>
    private void RunGreedyAhead(Scheduling.BatchInputs inputs, ReadOnlySpan<int> logitRows, Span<int> tokens, bool runAhead)
    {
        var cuda = _cuda!;
        int rows = logitRows.Length;
        var ids = _sampledIds.SliceRows(0, rows);
        _readback ??= cuda.CreateHostReadback(ReadbackSlots, _model.MaxLogitRows);
        _ahead ??= new DecodeRunAhead(_maxSeqs, _padded.MaxBlocksPerSeq);
        int slot, bucket;
        if (_aheadSlot >= 0 && _ahead.Matches(inputs) && DecodeBucket(inputs, logitRows) == _aheadBucket)
        {
            (slot, bucket) = (_aheadSlot, _aheadBucket);
            NumRunAheadHits++;
            _aheadSlot = -1;
        }
        else
        {
            var logits = Forward(inputs, logitRows, out bucket);
            cuda.ArgMaxRows(logits.SliceRows(0, rows), ids);
            slot = TakeReadbackSlot();
            _readback.Enqueue(slot, ids, rows);
            if (bucket > 0) CountEagerStep(bucket);
        }
        _ahead.Clear();
        if (runAhead && bucket > 0 && _graphs.TryGetValue(bucket, out var captured) && Stats(bucket).Mode == BucketMode.Graph
            && _ahead.TryPredict(inputs))
        {
            int blocksPerSeq = _padded.MaxBlocksPerSeq;
            var tables = _blockTables.SliceRows(0, bucket * blocksPerSeq).Reshape(new Shape(bucket, blocksPerSeq));
            cuda.AdvanceDecodeInputs(ids, _tokenIds, _positions, _slotMapping, _seqLens, tables, rows, _cache.BlockSize);
            cuda.Replay(captured.Graph);
            cuda.ArgMaxRows(captured.Logits.SliceRows(0, rows), ids);
            (_aheadSlot, _aheadBucket) = (TakeReadbackSlot(), bucket);
            _readback.Enqueue(_aheadSlot, ids, rows);
        }
        _readback.Wait(slot, tokens[..rows]);
        if (_aheadSlot >= 0) _ahead.SetFedTokens(tokens[..rows]);
    }

    private int TakeReadbackSlot()
    {
        int slot = _nextReadbackSlot;
        _nextReadbackSlot = (slot + 1) % ReadbackSlots;
        return slot;
    }

    /// <summary>Forgets a step run ahead: the caller is about to enqueue other work on the same inputs (counted as wasted).</summary>
    private void DropRunAhead()
    {
        if (_aheadSlot < 0) return;
        NumRunAheadMisses++;
        _aheadSlot = -1;
        _ahead?.Clear();
    }

    private void DisposeRunAhead()
    {
        // Synchronizes first: a step run ahead may still be copying into the page-locked slots.
        _readback?.Dispose();
        _readback = null;
    }
}
