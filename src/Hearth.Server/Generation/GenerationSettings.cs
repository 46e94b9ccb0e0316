using Hearth.Engine;
using Hearth.Engine.Sampling;

namespace Hearth.Server.Generation;

/// <summary>Everything a request asks of generation, validated, in the engine's terms.</summary>
internal sealed record GenerationSettings
{
    public SamplingParams Sampling { get; init; } = new();
    public int? MaxTokens { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    public bool IgnoreEos { get; init; }
    public bool SkipSpecialTokens { get; init; } = true;
    /// <summary>Whether to report logprobs; how many alternatives is Sampling.TopLogprobs.</summary>
    public bool Logprobs { get; init; }
    /// <summary>Ollama's num_ctx: a tighter context for this request than the engine's, when smaller.</summary>
    public int? ContextTokens { get; init; }

    public EngineRequest ToEngineRequest(string requestId, IReadOnlyList<int> promptTokenIds, ITokenConstraint? constraint = null) => new()
    {
        Constraint = constraint,
        RequestId = requestId,
        PromptTokenIds = promptTokenIds,
        Sampling = Sampling,
        MaxTokens = MaxTokens,
        StopStrings = Stop,
        StopTokenIds = StopTokenIds,
        IgnoreEos = IgnoreEos,
        SkipSpecialTokens = SkipSpecialTokens,
    };
}
