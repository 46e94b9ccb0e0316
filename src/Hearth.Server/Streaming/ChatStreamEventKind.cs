namespace Hearth.Server.Streaming;

/// <summary>What a parsed piece of assistant output is: visible text, thinking, or part of a tool call.</summary>
public enum ChatStreamEventKind
{
    Content,
    Reasoning,
    /// <summary>A tool call began; Text is the function name.</summary>
    ToolCallStarted,
    /// <summary>Text is a fragment of the call's arguments JSON.</summary>
    ToolCallArguments,
}
