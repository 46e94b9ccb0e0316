using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Runner;

// Decode lookahead on CUDA. A greedy decode step ends with the host waiting for the sampled ids, postprocessing,
// scheduling, uploading and launching the next graph: on the H100 that left the GPU idle 0.5-1.3 ms a step (the
// bench's steps against their own graph replayed back to back). So, when the engine can say what the next step will
// be if the batch stays as it is (BatchInputs.FillNextDecode), the runner enqueues that step right behind this one,
// its tokens copied on the device from this step's picks, before it waits for this step's ids. If the next
// schedule is that step, it is adopted and nothing is launched; otherwise it ran for nothing (its KV writes land in
// slots the step that replaces it rewrites or no one reads) and the real step is launched behind it.
// Each launch uses one of three slots (its staging area, its ids on the device and in page-locked memory, and an
// event): a slot is reused only after its event, so neither a pending nor an abandoned step is overwritten.
public sealed partial class ModelRunner
{
    private const int NumLookaheadSlots = 3;
    private readonly LookaheadSlot[]? _lookaheadSlots;
    private readonly PinnedHostBuffer? _lookaheadHost;   // per slot: [staging ints][max logit rows ids]
    private int _lookaheadCounter;
    private LookaheadSlot? _pendingSlot;
    private BatchInputs? _pendingInputs;

    /// <summary>Steps the runner enqueued ahead and the engine's schedule then adopted (for tests and the bench).</summary>
    public long NumLookaheadAdopted { get; private set; }

    /// <summary>Steps enqueued ahead that the schedule did not adopt (they ran for nothing).</summary>
    public long NumLookaheadAbandoned { get; private set; }

    private sealed class LookaheadSlot(int index, Tensor ids, CudaEvent done)
    {
        public int Index { get; } = index;
        public Tensor Ids { get; } = ids;   // [max logit rows] I32 on the device
        public CudaEvent Done { get; } = done;
    }

    /// <summary>
    /// Whether a decode step of <paramref name="numSeqs"/> sequences can be enqueued ahead: CUDA with lookahead on
    /// (HEARTH_CUDA_LOOKAHEAD=0 turns it off) and a captured graph for its bucket that was judged worth keeping.
    /// </summary>
    public bool CanLookAhead(int numSeqs)
    {
        if (_lookaheadSlots is null || numSeqs < 1 || numSeqs > _maxBucket) return false;
        int bucket = BucketFor(numSeqs);
        return _graphs.ContainsKey(bucket) && _bucketStats.TryGetValue(bucket, out var stats) && stats.Judged && stats.Mode == BucketMode.Graph;
    }

    private static bool LookaheadWanted() => Environment.GetEnvironmentVariable("HEARTH_CUDA_LOOKAHEAD") != "0";

    private int BucketFor(int numSeqs)
    {
        int bucket = 1;
        while (bucket < numSeqs) bucket *= 2;
        return Math.Min(bucket, _maxBucket);
    }

    private int SlotInts => StagingInts + _model.MaxLogitRows;

    private LookaheadSlot[] CreateLookaheadSlots(CudaBackend cuda) =>
        [.. Enumerable.Range(0, NumLookaheadSlots).Select(i => new LookaheadSlot(i, AllocateInt(_model.MaxLogitRows), cuda.CreateEvent()))];

    /// <summary>The next slot in turn, once the work last enqueued with it is done.</summary>
    private LookaheadSlot TakeSlot()
    {
        var slot = _lookaheadSlots![_lookaheadCounter++ % NumLookaheadSlots];
        slot.Done.Synchronize();
        return slot;
    }

    /// <summary>The pending step if <paramref name="inputs"/> is it; else null (and a pending step is abandoned).</summary>
    private LookaheadSlot? AdoptPending(BatchInputs inputs)
    {
        var slot = _pendingSlot;
        bool same = slot is not null && _pendingInputs!.IsSameDecodeStep(inputs);
        if (slot is not null)
        {
            if (same) NumLookaheadAdopted++;
            else NumLookaheadAbandoned++;
        }
        _pendingSlot = null;
        _pendingInputs = null;
        return same ? slot : null;
    }

    /// <summary>Picks this step's tokens into a slot and starts their copy to page-locked memory.</summary>
    private LookaheadSlot PickIntoSlot(Tensor logits, int rows)
    {
        var slot = TakeSlot();
        _cuda!.ArgMaxRows(logits.SliceRows(0, rows), slot.Ids.SliceRows(0, rows));
        _lookaheadHost!.CopyFromDevice(slot.Ids, slot.Index * SlotInts + StagingInts, rows);
        slot.Done.Record();
        return slot;
    }

    /// <summary>Enqueues <paramref name="next"/> behind the step whose picks <paramref name="current"/> holds.</summary>
    private void EnqueueAhead(BatchInputs next, LookaheadSlot current)
    {
        int n = next.NumSeqs, bucket = BucketFor(n);
        var slot = TakeSlot();
        _padded.Fill(next, bucket);
        _lastDecodeRows = n;
        StageDecodeInputs(next, bucket, _lookaheadHost!, slot.Index * SlotInts);
        // The tokens are this step's picks, still on the device; the staged -1s are overwritten in stream order.
        _cuda!.CopyDeviceToDevice(current.Ids.SliceRows(0, n), _tokenIds.SliceRows(0, n));
        var (graph, logits) = _graphs[bucket];
        _cuda.Replay(graph);
        _cuda.ArgMaxRows(logits.SliceRows(0, n), slot.Ids.SliceRows(0, n));
        _lookaheadHost!.CopyFromDevice(slot.Ids, slot.Index * SlotInts + StagingInts, n);
        slot.Done.Record();
        _pendingSlot = slot;
        _pendingInputs = next;
    }

    /// <summary>Waits for a slot's picks and copies the first <paramref name="rows"/> to tokens.</summary>
    private void TakeTokens(LookaheadSlot slot, int rows, Span<int> tokens)
    {
        slot.Done.Synchronize();
        _lookaheadHost!.Ints.Slice(slot.Index * SlotInts + StagingInts, rows).CopyTo(tokens);
    }

    /// <summary>A step that does not go through the greedy lookahead path: whatever was enqueued ahead is abandoned.</summary>
    private void AbandonPending()
    {
        if (_pendingSlot is not null) NumLookaheadAbandoned++;
        _pendingSlot = null;
        _pendingInputs = null;
    }

    private void DisposeLookahead()
    {
        if (_lookaheadSlots is not null)
            foreach (var slot in _lookaheadSlots) slot.Done.Dispose();
        _lookaheadHost?.Dispose();
    }
}
