using Hearth.Engine.Sampling;

namespace Hearth.Engine;

/// <summary>A generated token's raw logprob and the likeliest alternatives at that step (likeliest first).</summary>
public sealed record TokenLogprobs(int TokenId, float Logprob, IReadOnlyList<TokenLogprob> Top);
