namespace Hearth.Server.Hosting;

/// <summary>
/// A finished assistant message: reasoning (null when the model never thought, "" for an empty think block),
/// content (null when only whitespace), tool calls as (name, arguments JSON text), and the finish reason.
/// </summary>
public sealed record ChatOutputSummary(
    string? ReasoningContent,
    string? Content,
    IReadOnlyList<(string Name, string ArgumentsJson)> ToolCalls,
    string FinishReason);
