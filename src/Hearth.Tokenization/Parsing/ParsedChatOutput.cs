namespace Hearth.Tokenization.Parsing;

/// <summary>
/// The whole assistant message as an OpenAI-compatible server returns it. <see cref="ReasoningContent"/> is null when
/// the model produced no think block ("" for an empty one); <see cref="Content"/> is null when it holds no
/// non-whitespace text.
/// </summary>
public sealed record ParsedChatOutput(
    string? ReasoningContent,
    string? Content,
    IReadOnlyList<ParsedToolCall> ToolCalls,
    string FinishReason);
