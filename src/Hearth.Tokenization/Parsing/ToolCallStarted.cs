namespace Hearth.Tokenization.Parsing;

/// <summary>A tool call begins; its complete function name is known. <paramref name="Index"/> counts calls in the message from 0.</summary>
public sealed record ToolCallStarted(int Index, string Name) : ChatOutputEvent;
