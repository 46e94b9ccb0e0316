using Hearth.Server.Hosting;
using Hearth.Server.Streaming;
using Hearth.Tokenization.Parsing;

namespace Hearth.Server.Text;

/// <summary>Qwen3's reasoning and tool-call parser, turning its events into the server's stream events.</summary>
public sealed class Qwen3OutputParser : IChatOutputParser
{
    private readonly Qwen3ChatOutputParser _parser;
    private readonly List<ChatOutputEvent> _scratch = [];

    public Qwen3OutputParser(string promptText, bool parseToolCalls) =>
        _parser = new Qwen3ChatOutputParser(ReasoningStartModes.FromPrompt(promptText), parseToolCalls);

    public void Push(string textDelta, List<ChatStreamEvent> events)
    {
        _scratch.Clear();
        _parser.Push(textDelta, _scratch);
        Convert(events);
    }

    public void Finish(List<ChatStreamEvent> events)
    {
        _scratch.Clear();
        _parser.Finish(_scratch);
        Convert(events);
    }

    public ChatOutputSummary Result(string engineFinishReason)
    {
        var parsed = _parser.Result(engineFinishReason);
        var calls = new (string Name, string ArgumentsJson)[parsed.ToolCalls.Count];
        for (var i = 0; i < calls.Length; i++) calls[i] = (parsed.ToolCalls[i].Name, parsed.ToolCalls[i].ArgumentsJson);
        return new ChatOutputSummary(parsed.ReasoningContent, parsed.Content, calls, parsed.FinishReason);
    }

    private void Convert(List<ChatStreamEvent> events)
    {
        foreach (var e in _scratch)
        {
            events.Add(e switch
            {
                ContentDelta c => ChatStreamEvent.ContentText(c.Text),
                ReasoningText r => ChatStreamEvent.ReasoningText(r.Text),
                ToolCallStarted s => ChatStreamEvent.ToolCallStart(s.Index, s.Name),
                ToolCallArgumentsDelta a => ChatStreamEvent.ToolCallArgs(a.Index, a.Fragment),
                _ => throw new InvalidOperationException("unknown chat output event " + e.GetType().Name),
            });
        }
    }
}
