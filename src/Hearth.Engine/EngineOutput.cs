using Hearth.Engine.Sampling;

namespace Hearth.Engine;

/// <summary>
/// What one engine step produced for one request: the new token ids, the text they completed (only whole
/// characters, stop strings held back), their logprobs when asked for, and on the last output the finish
/// reason ("stop", "length" or "abort").
/// </summary>
public sealed record EngineOutput(
    string RequestId,
    IReadOnlyList<int> NewTokenIds,
    string TextDelta,
    IReadOnlyList<TokenLogprobs>? Logprobs,
    string? FinishReason,
    EngineUsage Usage)
{
    public bool IsFinished => FinishReason is not null;

    /// <summary>The stop string or stop_token_ids entry that ended the request; null for eos, length and abort.</summary>
    public object? StopReason { get; init; }
}
