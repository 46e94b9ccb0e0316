using Hearth.Engine.Sampling;
using Hearth.Engine.Scheduling;
using Hearth.Tokenization;

namespace Hearth.Engine.Core;

/// <summary>
/// The engine thread's bookkeeping for one request: its sampler state, incremental detokenizer, stop
/// strings, and where its outputs go.
/// </summary>
internal sealed class RequestState
{
    public RequestState(EngineRequest request, Sequence sequence, Tokenizer? tokenizer, Action<EngineOutput> sink)
    {
        Request = request;
        Sequence = sequence;
        Sink = sink;
        Rng = SamplerRng.FromOptionalSeed(request.Sampling.Seed);
        Detokenizer = tokenizer is null ? null : new IncrementalDetokenizer(tokenizer, request.SkipSpecialTokens);
        Stops = new StopStringMatcher(request.StopStrings);
        TopLogprobs = new TokenLogprob[Math.Max(1, request.Sampling.TopLogprobs)];
    }

    public EngineRequest Request { get; }

    public Sequence Sequence { get; }

    public Action<EngineOutput> Sink { get; }

    /// <summary>Null for a model without a tokenizer: outputs then carry token ids only.</summary>
    public IncrementalDetokenizer? Detokenizer { get; }

    public StopStringMatcher Stops { get; }

    /// <summary>Scratch for the sampler's top logprobs of the current step.</summary>
    public TokenLogprob[] TopLogprobs { get; }

    /// <summary>A field so the sampler can advance it by reference.</summary>
    public SamplerRng Rng;

    /// <summary>The raw logprob and alternatives of the token sampled this step, when logprobs were asked for.</summary>
    public TokenLogprobs? StepLogprobs { get; set; }

    public bool IsDone { get; set; }

    /// <summary>Whether this request's prefix-cache lookup has been counted in the engine's statistics.</summary>
    public bool PrefixCounted { get; set; }

    public EngineUsage Usage => new(Sequence.NumPromptTokens, Sequence.NumOutputTokens, Math.Max(0, Sequence.NumCachedPromptTokens));
}
