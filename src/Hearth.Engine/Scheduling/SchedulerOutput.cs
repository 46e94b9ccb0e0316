namespace Hearth.Engine.Scheduling;

/// <summary>
/// One step's batch. The scheduler reuses a single instance: it is valid from Schedule() until the next
/// Schedule(). Sequences appear in batch order (running ones first, then newly admitted ones).
/// </summary>
public sealed class SchedulerOutput
{
    private readonly List<ScheduledSequence> _scheduled;
    private readonly List<Sequence> _preempted;
    private readonly List<Sequence> _finished;

    internal SchedulerOutput(int maxNumSeqs)
    {
        _scheduled = new List<ScheduledSequence>(maxNumSeqs);
        _preempted = new List<Sequence>(maxNumSeqs);
        _finished = new List<Sequence>(maxNumSeqs);
    }

    public IReadOnlyList<ScheduledSequence> Scheduled => _scheduled;

    /// <summary>Sequences sent back to the waiting queue by this step's Schedule(); their KV is gone.</summary>
    public IReadOnlyList<Sequence> Preempted => _preempted;

    /// <summary>Sequences that Postprocess() finished by a stop token or a length limit (not aborts).</summary>
    public IReadOnlyList<Sequence> Finished => _finished;

    public int NumSeqs => _scheduled.Count;

    /// <summary>Tokens computed this step over all sequences.</summary>
    public int NumBatchedTokens { get; private set; }

    /// <summary>Sequences that sample a token this step: the length Postprocess() expects.</summary>
    public int NumSampledSeqs { get; private set; }

    /// <summary>Counts Schedule() calls, from 0.</summary>
    public long StepIndex { get; internal set; } = -1;

    public bool IsEmpty => _scheduled.Count == 0;

    internal bool IsPostprocessed { get; set; } = true;

    internal void Clear()
    {
        _scheduled.Clear();
        _preempted.Clear();
        _finished.Clear();
        NumBatchedTokens = 0;
        NumSampledSeqs = 0;
    }

    internal void Add(ScheduledSequence item)
    {
        _scheduled.Add(item);
        NumBatchedTokens += item.NumNewTokens;
        if (item.SamplesToken) NumSampledSeqs++;
    }

    internal void AddPreempted(Sequence seq) => _preempted.Add(seq);

    internal void AddFinished(Sequence seq) => _finished.Add(seq);
}
