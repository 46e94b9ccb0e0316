namespace Hearth.Tokenization.Parsing;

/// <summary>One streamed piece of parsed chat output, in generation order.</summary>
public abstract record ChatOutputEvent;
