using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Engine.Scheduling;

/// <summary>
/// vLLM-v1-style continuous batching. There are no prefill and decode phases: each step gives every
/// request some tokens to compute (its known tokens minus those already in the KV cache), within a token
/// budget and a request cap. Running requests come first, so decodes and ongoing chunked prefills keep
/// going; then waiting requests are admitted first-come first-served, after a prefix-cache lookup.
/// When blocks run out the most recently admitted running request is preempted (its KV dropped, to be
/// recomputed from prompt + outputs) and put at the front of the waiting queue.
/// Not thread-safe: one engine thread calls Add, Schedule, Postprocess, Finish and Abort.
/// Use: Add(...)*; loop { Schedule(); run the batch; Postprocess(sampled) }.
/// </summary>
public sealed class Scheduler
{
    private readonly SchedulerConfig _config;
    private readonly BlockManager _blocks;
    private readonly LinkedList<Sequence> _waiting = new();
    private readonly List<Sequence> _running; // in admission order; the last is preempted first
    private readonly Dictionary<long, Sequence> _live = new();
    private readonly List<int> _hitBlocks = new();
    private readonly SchedulerOutput _output;
    private long _nextArrival;

    public Scheduler(SchedulerConfig config) : this(config, BlockHasher.Hash) { }

    internal Scheduler(SchedulerConfig config, BlockHashFunction hash)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _blocks = new BlockManager(config.NumBlocks, config.BlockSize, config.EnablePrefixCaching, hash);
        _running = new List<Sequence>(config.MaxNumSeqs);
        _output = new SchedulerOutput(config.MaxNumSeqs);
    }

    public SchedulerConfig Config => _config;

    public BlockManager BlockManager => _blocks;

    public int NumWaiting => _waiting.Count;

    public int NumRunning => _running.Count;

    public bool HasUnfinished => _live.Count > 0;

    /// <summary>Preemptions since the scheduler was created.</summary>
    public long NumPreemptions { get; private set; }

    public IReadOnlyList<Sequence> Running => _running;

    public IEnumerable<Sequence> Waiting => _waiting;

    /// <summary>
    /// Queues a new request. A request that could never run is rejected here with a
    /// <see cref="HearthException"/>: prompt + max_tokens beyond MaxModelLen, or more KV blocks than the pool.
    /// </summary>
    public void Add(Sequence seq)
    {
        ArgumentNullException.ThrowIfNull(seq);
        if (seq.ArrivalOrder >= 0 || seq.Status != SequenceStatus.Waiting) throw new InvalidOperationException($"Sequence {seq.Id} was already added to a scheduler.");
        if (_live.ContainsKey(seq.Id)) throw new InvalidOperationException($"A live request already has id {seq.Id}.");
        int maxLen = seq.NumPromptTokens + seq.MaxTokens;
        if (maxLen > _config.MaxModelLen)
        {
            throw new HearthException($"Request {seq.Id} needs up to {maxLen} tokens (prompt {seq.NumPromptTokens} + max_tokens {seq.MaxTokens}) but the maximum context length is {_config.MaxModelLen}; shorten the prompt or lower max_tokens.");
        }
        // The last sampled token is never fed back, so at most maxLen - 1 tokens occupy the cache.
        int maxBlocks = _blocks.BlocksFor(maxLen - 1);
        if (maxBlocks > _blocks.NumBlocks)
        {
            throw new HearthException($"Request {seq.Id} may need {maxBlocks} KV-cache blocks but the cache holds only {_blocks.NumBlocks}; lower max_tokens or give the KV cache more memory.");
        }
        seq.ArrivalOrder = _nextArrival++;
        seq.WaitingNode = _waiting.AddLast(seq);
        _live.Add(seq.Id, seq);
    }

    public Sequence? Find(long id) => _live.GetValueOrDefault(id);

    /// <summary>Plans the next step. The returned object is reused: it is valid until the next call.</summary>
    public SchedulerOutput Schedule()
    {
        if (!_output.IsPostprocessed) throw new InvalidOperationException("Schedule() called again before Postprocess() of the previous step.");
        _output.Clear();
        _output.StepIndex++;
        int budget = _config.MaxNumBatchedTokens;

        for (int i = 0; i < _running.Count && budget > 0; i++)
        {
            Sequence seq = _running[i];
            int numNew = CapNewTokens(seq.NumTokens - seq.NumComputedTokens, budget);
            bool allocated;
            while (!(allocated = _blocks.TryAllocateSlots(seq, numNew)))
            {
                // Victims come from the back, so they were never scheduled earlier in this loop.
                Sequence victim = _running[^1];
                _running.RemoveAt(_running.Count - 1);
                Preempt(victim);
                if (victim == seq) break;
            }
            if (!allocated) break;
            AddToBatch(seq, numNew);
            budget -= numNew;
        }

        // After a preemption the pool is known to be short: admitting more would only thrash.
        while (_output.Preempted.Count == 0 && budget > 0 && _running.Count < _config.MaxNumSeqs && _waiting.First is { } node)
        {
            Sequence seq = node.Value;
            int numCached = _blocks.FindCachedPrefix(seq, _hitBlocks);
            int numNew = CapNewTokens(seq.NumTokens - numCached, budget);
            if (!_blocks.TryAllocateSlots(seq, numNew, _hitBlocks)) break;
            _waiting.RemoveFirst();
            seq.WaitingNode = null;
            seq.Status = SequenceStatus.Running;
            seq.NumComputedTokens = numCached;
            if (seq.NumCachedPromptTokens < 0) seq.NumCachedPromptTokens = Math.Min(numCached, seq.NumPromptTokens);
            _running.Add(seq);
            AddToBatch(seq, numNew);
            budget -= numNew;
        }

        _output.IsPostprocessed = _output.IsEmpty;
        return _output;
    }

    /// <summary>
    /// Applies the step's results: one sampled token per sequence with SamplesToken, in batch order.
    /// Advances computed counts, shares newly filled blocks through the prefix cache, appends the tokens
    /// and finishes sequences on eos/stop tokens, max_tokens or MaxModelLen (listed in output.Finished).
    /// Sequences aborted since Schedule() are skipped; their sampled token is dropped.
    /// </summary>
    public void Postprocess(ReadOnlySpan<int> sampledTokenIds)
    {
        if (_output.IsPostprocessed) throw new InvalidOperationException("Postprocess() called without a scheduled step to apply.");
        if (sampledTokenIds.Length != _output.NumSampledSeqs)
        {
            throw new ArgumentException($"Expected {_output.NumSampledSeqs} sampled tokens, got {sampledTokenIds.Length}.", nameof(sampledTokenIds));
        }
        _output.IsPostprocessed = true;
        int s = 0;
        for (int i = 0; i < _output.Scheduled.Count; i++)
        {
            ScheduledSequence item = _output.Scheduled[i];
            Sequence seq = item.Sequence;
            int sampled = item.SamplesToken ? sampledTokenIds[s++] : -1;
            if (seq.Status != SequenceStatus.Running) continue;
            seq.NumComputedTokens += item.NumNewTokens;
            _blocks.CacheFullBlocks(seq);
            if (!item.SamplesToken) continue;
            seq.AppendToken(sampled);
            FinishReason reason = StopReasonAfter(seq, sampled);
            if (reason == FinishReason.None) continue;
            if (reason == FinishReason.Stop) seq.StopTokenId = sampled;
            FinishLive(seq, reason);
            _output.AddFinished(seq);
        }
    }

    /// <summary>
    /// Ends a live request now, wherever it is (waiting, mid-prefill, mid-decode), and frees its blocks at
    /// once. The engine uses it for stop strings found in the text. Returns false if the id is not live.
    /// </summary>
    public bool Finish(long id, FinishReason reason)
    {
        if (reason == FinishReason.None) throw new ArgumentException("A finish reason is required.", nameof(reason));
        if (!_live.TryGetValue(id, out Sequence? seq)) return false;
        FinishLive(seq, reason);
        return true;
    }

    /// <summary>Cancels a request at any point; its blocks are freed at once. False if the id is not live.</summary>
    public bool Abort(long id) => Finish(id, FinishReason.Abort);

    private int CapNewTokens(int numNew, int budget)
    {
        int threshold = _config.LongPrefillTokenThreshold;
        if (threshold > 0 && numNew > threshold) numNew = threshold;
        return Math.Min(numNew, budget);
    }

    private void AddToBatch(Sequence seq, int numNew)
    {
        int start = seq.NumComputedTokens;
        _output.Add(new ScheduledSequence(seq, numNew, start, start + numNew == seq.NumTokens));
    }

    private void Preempt(Sequence seq)
    {
        _blocks.Free(seq);
        seq.NumComputedTokens = 0;
        seq.Status = SequenceStatus.Waiting;
        seq.NumPreemptions++;
        seq.WaitingNode = _waiting.AddFirst(seq);
        NumPreemptions++;
        _output.AddPreempted(seq);
    }

    private FinishReason StopReasonAfter(Sequence seq, int sampled)
    {
        if (seq.IsStopToken(sampled)) return FinishReason.Stop;
        if (seq.NumOutputTokens >= seq.MaxTokens || seq.NumTokens >= _config.MaxModelLen) return FinishReason.Length;
        return FinishReason.None;
    }

    private void FinishLive(Sequence seq, FinishReason reason)
    {
        if (seq.WaitingNode is { } node)
        {
            _waiting.Remove(node);
            seq.WaitingNode = null;
        }
        else
        {
            _running.Remove(seq);
        }
        _blocks.Free(seq);
        seq.Status = SequenceStatus.Finished;
        seq.FinishReason = reason;
        _live.Remove(seq.Id);
    }
}
