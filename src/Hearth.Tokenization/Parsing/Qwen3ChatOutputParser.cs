using System.Text;

namespace Hearth.Tokenization.Parsing;

/// <summary>
/// Parses a Qwen3 chat completion as it streams: reasoning first (<see cref="ReasoningParser"/>), then tool calls in
/// the content (<see cref="ToolCallParser"/>). Produces per-chunk events and, after <see cref="Finish"/>, the whole
/// message. The aggregate is built from the very events handed out, so streamed deltas always add up to it.
/// </summary>
public sealed class Qwen3ChatOutputParser
{
    private readonly ReasoningParser _reasoning;
    private readonly ToolCallParser? _toolCalls;
    private readonly StringBuilder _reasoningText = new();
    private readonly StringBuilder _contentText = new();
    private readonly List<(string Name, StringBuilder Arguments)> _calls = new();
    private bool _finished;

    /// <param name="mode">From <see cref="ReasoningStartModes.FromPrompt"/>.</param>
    /// <param name="parseToolCalls">False when the request offered no tools; then <c>&lt;tool_call&gt;</c> text is content.</param>
    public Qwen3ChatOutputParser(ReasoningStartMode mode, bool parseToolCalls)
    {
        _reasoning = new ReasoningParser(mode);
        _toolCalls = parseToolCalls ? new ToolCallParser() : null;
    }

    public void Push(string textDelta, List<ChatOutputEvent> events)
    {
        ArgumentNullException.ThrowIfNull(textDelta);
        ArgumentNullException.ThrowIfNull(events);
        if (_finished) throw new InvalidOperationException("Push after Finish: the output parser is single-use.");
        int first = events.Count;
        Route(_reasoning.Push(textDelta), events);
        Aggregate(events, first);
    }

    public void Finish(List<ChatOutputEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (_finished) return;
        _finished = true;
        int first = events.Count;
        Route(_reasoning.Finish(), events);
        _toolCalls?.Finish(events);
        Aggregate(events, first);
    }

    /// <summary>The whole message; call after <see cref="Finish"/>.</summary>
    /// <param name="engineFinishReason">"stop" or "length", as the engine ended generation.</param>
    public ParsedChatOutput Result(string engineFinishReason)
    {
        ArgumentNullException.ThrowIfNull(engineFinishReason);
        if (!_finished) throw new InvalidOperationException("Result before Finish: held-back text would be missing.");
        var calls = new ParsedToolCall[_calls.Count];
        for (int i = 0; i < calls.Length; i++) calls[i] = new ParsedToolCall(_calls[i].Name, _calls[i].Arguments.ToString());
        string content = _contentText.ToString();
        string finishReason = calls.Length > 0 && engineFinishReason == "stop" ? "tool_calls" : engineFinishReason;
        return new ParsedChatOutput(
            _reasoning.SawReasoning ? _reasoningText.ToString() : null,
            string.IsNullOrWhiteSpace(content) ? null : content,
            calls,
            finishReason);
    }

    private void Route(ReasoningDelta delta, List<ChatOutputEvent> events)
    {
        if (delta.Reasoning.Length > 0) events.Add(new ReasoningText(delta.Reasoning));
        if (delta.Content.Length == 0) return;
        if (_toolCalls is null) events.Add(new ContentDelta(delta.Content));
        else _toolCalls.Push(delta.Content, events);
    }

    private void Aggregate(List<ChatOutputEvent> events, int first)
    {
        for (int i = first; i < events.Count; i++)
        {
            switch (events[i])
            {
                case ReasoningText r: _reasoningText.Append(r.Text); break;
                case ContentDelta c: _contentText.Append(c.Text); break;
                case ToolCallStarted s: _calls.Add((s.Name, new StringBuilder())); break;
                case ToolCallArgumentsDelta a: _calls[a.Index].Arguments.Append(a.Fragment); break;
            }
        }
    }
}
