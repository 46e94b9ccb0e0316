namespace Hearth.Tokenization.Parsing;

/// <summary>Text for the message's <c>content</c>.</summary>
public sealed record ContentDelta(string Text) : ChatOutputEvent;
