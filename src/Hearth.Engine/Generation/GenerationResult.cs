namespace Hearth.Engine.Generation;

/// <summary>The generated tokens and why generation stopped: "stop" (a stop token) or "length".</summary>
public sealed record GenerationResult(IReadOnlyList<GeneratedToken> Tokens, string FinishReason);
