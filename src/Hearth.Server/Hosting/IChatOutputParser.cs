using Hearth.Server.Streaming;

namespace Hearth.Server.Hosting;

/// <summary>Splits one request's generated text into content, reasoning and tool calls as it streams.</summary>
public interface IChatOutputParser
{
    void Push(string textDelta, List<ChatStreamEvent> events);

    /// <summary>Releases anything held back at the end of generation.</summary>
    void Finish(List<ChatStreamEvent> events);

    /// <summary>The whole message after <see cref="Finish"/>; finish reason becomes "tool_calls" when calls were parsed.</summary>
    ChatOutputSummary Result(string engineFinishReason);
}
