namespace Hearth.Tokenization.Parsing;

/// <summary>What one <see cref="ReasoningParser"/> call released; either part may be empty, never null.</summary>
public readonly record struct ReasoningDelta(string Reasoning, string Content)
{
    public static ReasoningDelta Empty => new(string.Empty, string.Empty);

    public bool IsEmpty => Reasoning.Length == 0 && Content.Length == 0;
}
