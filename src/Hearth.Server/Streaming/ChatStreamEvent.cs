namespace Hearth.Server.Streaming;

/// <summary>
/// One streamed piece of parsed chat output as the server shapes it into API deltas. A struct with a kind
/// rather than a class hierarchy, so the per-token path allocates only the text it carries.
/// </summary>
public readonly record struct ChatStreamEvent(ChatStreamEventKind Kind, string Text, int ToolCallIndex = 0)
{
    public static ChatStreamEvent ContentText(string text) => new(ChatStreamEventKind.Content, text);
    public static ChatStreamEvent ReasoningText(string text) => new(ChatStreamEventKind.Reasoning, text);
    public static ChatStreamEvent ToolCallStart(int index, string name) => new(ChatStreamEventKind.ToolCallStarted, name, index);
    public static ChatStreamEvent ToolCallArgs(int index, string fragment) => new(ChatStreamEventKind.ToolCallArguments, fragment, index);
}
