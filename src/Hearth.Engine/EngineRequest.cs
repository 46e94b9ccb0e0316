using Hearth.Engine.Sampling;

namespace Hearth.Engine;

/// <summary>One generation request as the engine sees it: token ids in, never text or JSON.</summary>
public sealed record EngineRequest
{
    /// <summary>Unique among requests in flight; used to abort.</summary>
    public required string RequestId { get; init; }

    public required IReadOnlyList<int> PromptTokenIds { get; init; }

    public SamplingParams Sampling { get; init; } = new();

    /// <summary>Most tokens to generate; null means up to the model's context length.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Token ids that end generation besides the model's eos ids (vLLM's stop_token_ids).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Strings that end generation; they are held back while they might still match and never emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Keep generating past eos ids (benchmarks).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Leave special tokens such as &lt;think&gt; out of the text (token ids are always reported).</summary>
    public bool SkipSpecialTokens { get; init; } = true;

    /// <summary>Report each generated token's logprob (and Sampling.TopLogprobs alternatives).</summary>
    public bool Logprobs { get; init; }

    /// <summary>Lower values are scheduled first among waiting requests; ties keep arrival order.</summary>
    public int Priority { get; init; }
}
