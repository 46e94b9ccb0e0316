namespace Hearth.Engine.Sampling;

/// <summary>A token id and its log-probability under the model's raw (unpenalized, untempered) distribution.</summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);
