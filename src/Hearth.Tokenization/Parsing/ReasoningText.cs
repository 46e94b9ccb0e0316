namespace Hearth.Tokenization.Parsing;

/// <summary>Text for the message's <c>reasoning_content</c>.</summary>
public sealed record ReasoningText(string Text) : ChatOutputEvent;
