namespace Hearth.Tokenization.Parsing;

/// <summary>A finished tool call: function name and the JSON text of its arguments object.</summary>
public sealed record ParsedToolCall(string Name, string ArgumentsJson);
