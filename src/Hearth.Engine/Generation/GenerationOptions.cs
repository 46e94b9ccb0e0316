using Hearth.Engine.Sampling;

namespace Hearth.Engine.Generation;

/// <summary>What one generation asks for: sampling, a length limit and the token ids that end it.</summary>
public sealed record GenerationOptions
{
    public SamplingParams Sampling { get; init; } = new() { Temperature = 0 };
    public int MaxTokens { get; init; } = 256;
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = [];
}
