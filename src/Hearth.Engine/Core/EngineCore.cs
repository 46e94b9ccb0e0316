using System.Diagnostics;
using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Loading;
using Hearth.Engine.Runner;
using Hearth.Engine.Sampling;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Core;

/// <summary>
/// The engine's step loop without threads (nano-vllm's LLMEngine): each <see cref="Step"/> schedules,
/// runs one batched forward, samples, postprocesses, and hands each request its output. Not thread-safe:
/// exactly one thread (the engine thread, or a CLI command) drives it.
/// </summary>
public sealed partial class EngineCore : IDisposable
{
    private readonly LoadedModel _model;
    private readonly Scheduler _scheduler;
    private readonly BatchInputs _inputs;
    private readonly PagedKvCache _cache;
    private readonly ModelRunner _runner;
    private readonly StepProfile? _profile = StepProfile.FromEnvironment();
    private readonly Sampler _sampler;
    private readonly float[] _logits;  // [vocab] the sampler's scratch copy of one row
    private readonly int[] _sampled;   // [maxNumSeqs] tokens sampled this step, in batch order
    private readonly Dictionary<string, RequestState> _requests = new(StringComparer.Ordinal);
    private long _nextSequenceId;
    private long _promptTokensComputed, _generationTokens, _prefixHitTokens, _prefixQueryTokens;

    public EngineCore(LoadedModel model, IBackend backend, EngineOptions options)
    {
        _model = model;
        var config = model.Config;
        MaxModelLen = options.MaxModelLen ?? config.MaxPositionEmbeddings;
        if (MaxModelLen > config.MaxPositionEmbeddings)
            throw new HearthException($"--max-model-len {MaxModelLen} exceeds the model's max_position_embeddings {config.MaxPositionEmbeddings}");
        DType kvDType = Cache.KvCacheDTypes.Resolve(options.KvCacheDType, backend);
        long kvBytes = options.KvCacheBytes ?? DefaultKvCacheBytes(config, kvDType, options, MaxModelLen);
        int numBlocks = PagedKvCache.BlocksForBudget(config, kvDType, options.BlockSize, kvBytes);
        var schedulerConfig = new SchedulerConfig
        {
            BlockSize = options.BlockSize,
            NumBlocks = numBlocks,
            MaxNumBatchedTokens = Math.Min(options.MaxNumBatchedTokens, model.Model.MaxTokensPerStep),
            MaxNumSeqs = Math.Min(options.MaxNumSeqs, model.Model.MaxLogitRows),
            MaxModelLen = MaxModelLen,
            EnablePrefixCaching = options.EnablePrefixCaching,
        };
        _scheduler = new Scheduler(schedulerConfig);
        _inputs = new BatchInputs(schedulerConfig);
        _cache = new PagedKvCache(backend, config, kvDType, options.BlockSize, numBlocks);
        _runner = new ModelRunner(backend, model.Model, _cache, schedulerConfig.MaxNumSeqs, schedulerConfig.MaxBlocksPerSeq) { Profile = _profile };
        _sampler = new Sampler(model.Model.VocabSize);
        _logits = new float[model.Model.VocabSize];
        _sampled = new int[schedulerConfig.MaxNumSeqs];
    }

    public int MaxModelLen { get; }

    /// <summary>The KV cache as allocated: tokens, bytes, dtype (printed at load by the CLI).</summary>
    public Cache.KvCachePlan KvCachePlan => Cache.KvCachePlan.Of(_cache, MaxModelLen);

    public LoadedModel Model => _model;

    public bool HasWork => _scheduler.HasUnfinished;

    public int NumRunning => _scheduler.NumRunning;

    /// <summary>The decode graph for <paramref name="numSeqs"/> sequences replayed back to back (CUDA; null otherwise).</summary>
    public Runner.GraphReplayTiming? TimeDecodeGraph(int numSeqs, int replays) => _runner.TimeDecodeGraph(numSeqs, replays);

    public int NumWaiting => _scheduler.NumWaiting;

    /// <summary>Decode steps that were already running when scheduled (run ahead), and steps run ahead in vain.</summary>
    public long RunAheadHits => _runner.NumRunAheadHits;

    /// <inheritdoc cref="RunAheadHits"/>
    public long RunAheadMisses => _runner.NumRunAheadMisses;

    public BlockManager Blocks => _scheduler.BlockManager;

    /// <summary>
    /// Queues a request whose outputs go to <paramref name="sink"/> (called on the driving thread).
    /// Throws <see cref="RequestRejectedException"/> when it could never run.
    /// </summary>
    public void Add(EngineRequest request, Action<EngineOutput> sink)
    {
        if (_requests.ContainsKey(request.RequestId)) throw new RequestRejectedException($"request id '{request.RequestId}' is already in flight");
        int maxTokens = Validate(request);
        int[] eos = request.IgnoreEos ? [] : [.. _model.EosTokenIds];
        var prompt = request.PromptTokenIds as int[] ?? [.. request.PromptTokenIds];
        var sequence = new Sequence(_nextSequenceId++, prompt, maxTokens, eos, [.. request.StopTokenIds]) { IgnoreEos = request.IgnoreEos };
        var state = new RequestState(request, sequence, _model.Tokenizer, sink);
        sequence.Tag = state;
        try
        {
            _scheduler.Add(sequence);
        }
        catch (HearthException e) when (e is not RequestRejectedException)
        {
            throw new RequestRejectedException(e.Message);
        }
        _requests.Add(request.RequestId, state);
    }

    /// <summary>
    /// Checks a request against what never changes (context length, vocabulary, pool size) and returns its
    /// max_tokens. Safe to call from any thread; throws <see cref="RequestRejectedException"/>.
    /// </summary>
    public int Validate(EngineRequest request)
    {
        if (request.PromptTokenIds.Count == 0) throw new RequestRejectedException("the prompt is empty");
        try
        {
            request.Sampling.Validate();
        }
        catch (HearthException e)
        {
            throw new RequestRejectedException(e.Message);
        }
        foreach (int id in request.PromptTokenIds)
            if ((uint)id >= (uint)_model.Model.VocabSize) throw new RequestRejectedException($"token id {id} is outside the vocabulary (0..{_model.Model.VocabSize - 1})");
        if (request.StopStrings.Count > 0 && _model.Tokenizer is null)
            throw new RequestRejectedException("stop strings need a tokenizer, and this model folder has none");
        int promptLength = request.PromptTokenIds.Count;
        if (promptLength >= MaxModelLen)
            throw new RequestRejectedException($"the prompt has {promptLength} tokens, but the maximum context length is {MaxModelLen} tokens");
        int maxTokens = request.MaxTokens ?? MaxModelLen - promptLength;
        if (maxTokens < 1) throw new RequestRejectedException($"max_tokens must be at least 1, got {maxTokens}");
        if (promptLength + maxTokens > MaxModelLen)
            throw new RequestRejectedException($"the prompt has {promptLength} tokens and max_tokens is {maxTokens}: {promptLength + maxTokens} tokens exceed the maximum context length of {MaxModelLen} tokens");
        int blocksNeeded = (promptLength + maxTokens - 1 + _cache.BlockSize - 1) / _cache.BlockSize;
        if (blocksNeeded > _cache.NumBlocks)
            throw new RequestRejectedException($"the request may need {blocksNeeded} KV cache blocks but the cache holds {_cache.NumBlocks}; lower max_tokens or give the KV cache more memory");
        return maxTokens;
    }

    /// <summary>Ends every request in flight (the engine is shutting down).</summary>
    public void AbortAll()
    {
        foreach (var id in _requests.Keys.ToArray()) Abort(id);
    }

    /// <summary>Ends a request now and frees its KV blocks; its last output has FinishReason "abort".</summary>
    public bool Abort(string requestId)
    {
        if (!_requests.TryGetValue(requestId, out var state)) return false;
        _scheduler.Abort(state.Sequence.Id);
        Complete(state, "abort", "", stopReason: null);
        return true;
    }

    /// <summary>Runs one step; returns false when there was nothing to run.</summary>
    public bool Step()
    {
        long start = Stopwatch.GetTimestamp();
        var output = _scheduler.Schedule();
        if (output.IsEmpty) return false;
        _inputs.Fill(output);
        int numSampled = _inputs.NumSampled;
        // Profiled: steps that only decode and pick greedily in the backend, the steady state of a batch.
        bool profiled = _profile is not null && numSampled == _inputs.NumTokens && numSampled == _inputs.NumSeqs
            && _runner.CanPickGreedyInBackend && AllPlainGreedy(output, numSampled);
        if (profiled)
        {
            _profile!.BeginDecodeStep(numSampled, start);
            _profile.Mark(StepPhase.Schedule);
        }
        if (numSampled > 0 && TrySampleOnDevice(output, numSampled))
        {
            FinishStep(output, numSampled);
            _profile?.Mark(StepPhase.Finish);
            _profile?.EndStep(profiled);
            return true;
        }
        _profile?.EndStep(false);
        var logits = _runner.Run(_inputs, _inputs.SampleRowIndices.AsSpan(0, numSampled));
        int vocab = _runner.VocabSize;
        for (int r = 0; r < numSampled; r++)
        {
            var state = (RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!;
            if (IsPlainGreedy(state))
            {
                // The argmax reads the row where it lies: no copy, no scratch (a batch of 32 parrot rows is 19 MB).
                _sampled[r] = Sampler.GreedyToken(logits.Slice(r * vocab, vocab));
                state.StepLogprobs = null;
                continue;
            }
            logits.Slice(r * vocab, vocab).CopyTo(_logits);
            var seq = state.Sequence;
            state.Request.Constraint?.MaskLogits(_logits, state.EndTokenIds);
            var result = _sampler.Sample(_logits, state.Request.Sampling, seq.PromptTokenIds, seq.OutputTokenIds, ref state.Rng, state.TopLogprobs,
                computeLogprob: state.Request.Logprobs);
            _sampled[r] = result.TokenId;
            state.Request.Constraint?.Accept(result.TokenId);
            state.StepLogprobs = state.Request.Logprobs
                ? new TokenLogprobs(result.TokenId, result.Logprob, state.TopLogprobs[..result.NumTopLogprobs])
                : null;
        }
        FinishStep(output, numSampled);
        return true;
    }

    private void FinishStep(SchedulerOutput output, int numSampled)
    {
        CountStep(output);
        _scheduler.Postprocess(_sampled.AsSpan(0, numSampled));
        for (int r = 0; r < numSampled; r++)
        {
            var state = (RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!;
            if (!state.IsDone) Emit(state, _sampled[r]);
        }
    }

    /// <summary>
    /// Greedy without penalties, logprobs or a constraint for every sampled row: the argmax is all that is needed.
    /// A constrained request must see its logits masked on the host, so it keeps the whole step off the device argmax.
    /// </summary>
    private bool AllPlainGreedy(SchedulerOutput output, int numSampled)
    {
        for (int r = 0; r < numSampled; r++)
            if (!IsPlainGreedy((RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!)) return false;
        return true;
    }

    private static bool IsPlainGreedy(RequestState state)
    {
        var p = state.Request.Sampling;
        return p.IsGreedy && p.RepetitionPenalty == 1f && p.FrequencyPenalty == 0 && p.PresencePenalty == 0
            && p.TopLogprobs == 0 && !state.Request.Logprobs && state.Request.Constraint is null;
    }

    public EngineStats GetStats(bool isAlive) => new(
        isAlive, _scheduler.NumRunning, _scheduler.NumWaiting, Blocks.NumFreeBlocks, Blocks.NumBlocks,
        _promptTokensComputed, _generationTokens, _prefixHitTokens, _prefixQueryTokens, _scheduler.NumPreemptions);

    private void CountStep(SchedulerOutput output)
    {
        foreach (var item in output.Scheduled)
        {
            var seq = item.Sequence;
            var state = (RequestState)seq.Tag!;
            if (!state.PrefixCounted)
            {
                // Counted at first admission only: a preempted request's recomputation is not a new lookup.
                state.PrefixCounted = true;
                _prefixQueryTokens += seq.NumPromptTokens;
                _prefixHitTokens += Math.Max(0, seq.NumCachedPromptTokens);
            }
            _promptTokensComputed += Math.Max(0, Math.Min(item.SeqLenAfterStep, seq.NumPromptTokens) - item.StartPosition);
        }
        _generationTokens += _inputs.NumSampled;
    }

    private void Emit(RequestState state, int token)
    {
        var seq = state.Sequence;
        var text = state.Detokenizer?.Push(token) ?? "";
        var (emit, stop) = state.Stops.Push(text);
        if (stop is not null)
        {
            _scheduler.Finish(seq.Id, FinishReason.Stop);
            Complete(state, "stop", emit, stop, token);
            return;
        }
        if (seq.IsFinished)
        {
            var rest = emit + state.Stops.Push(state.Detokenizer?.Flush() ?? "").Emit + state.Stops.Flush();
            string reason = seq.FinishReason == FinishReason.Length ? "length" : "stop";
            // As vLLM reports it: a stop_token_ids entry is the stop reason, an eos id is not.
            Complete(state, reason, rest, seq.StopTokenId is { } id && !seq.IsEosToken(id) ? id : null, token);
            return;
        }
        state.Sink(new EngineOutput(state.Request.RequestId, [token], emit, Logprobs(state), null, state.Usage));
    }

    private void Complete(RequestState state, string reason, string text, object? stopReason, int? token = null)
    {
        state.IsDone = true;
        _requests.Remove(state.Request.RequestId);
        IReadOnlyList<int> tokens = token is { } t ? [t] : [];
        var logprobs = token is null ? null : Logprobs(state);
        state.Sink(new EngineOutput(state.Request.RequestId, tokens, text, logprobs, reason, state.Usage) { StopReason = stopReason });
    }

    private static IReadOnlyList<TokenLogprobs>? Logprobs(RequestState state) =>
        state.StepLogprobs is { } lp ? [lp] : null;

    /// <summary>
    /// Room for MaxNumSeqs requests of 2,048 tokens (or the context, if shorter) and always for one request of
    /// the full context, within a quarter of the machine's memory. Counted in whole blocks, since a request
    /// of n tokens holds ceil(n / blockSize) of them.
    /// </summary>
    private static long DefaultKvCacheBytes(ModelConfig config, DType dtype, EngineOptions options, int maxModelLen)
    {
        long blockBytes = PagedKvCache.BlockSizeBytes(config, dtype, options.BlockSize);
        long BlocksFor(long tokens) => (tokens + options.BlockSize - 1) / options.BlockSize;
        long wanted = Math.Max(options.MaxNumSeqs * BlocksFor(Math.Min(maxModelLen, 2048L)), BlocksFor(maxModelLen)) * blockBytes;
        long cap = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;
        return Math.Max(blockBytes, Math.Min(wanted, cap));
    }

    public void Dispose()
    {
        if (_profile is not null) Console.Error.Write(_profile.Format() + _runner.GpuProfileText);
        _runner.Dispose();
        _cache.Dispose();
    }
}
