namespace Hearth.Tokenization.Parsing;

/// <summary>A piece of the raw JSON text of call <paramref name="Index"/>'s arguments object; pieces concatenate to the whole.</summary>
public sealed record ToolCallArgumentsDelta(int Index, string Fragment) : ChatOutputEvent;
