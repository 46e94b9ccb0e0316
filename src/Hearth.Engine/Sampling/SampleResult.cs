namespace Hearth.Engine.Sampling;

/// <summary>The chosen token, its raw logprob, and how many top logprobs were written.</summary>
public readonly record struct SampleResult(int TokenId, float Logprob, int NumTopLogprobs);
