using Hearth.Engine.Sampling;

namespace Hearth.Engine.Generation;

/// <summary>One generated token with its raw logprob and the top alternatives (likeliest first).</summary>
public sealed record GeneratedToken(int TokenId, float Logprob, IReadOnlyList<TokenLogprob> TopLogprobs);
