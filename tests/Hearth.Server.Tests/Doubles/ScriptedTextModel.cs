using System.Text;
using System.Text.Json.Nodes;
using Hearth.Server.Hosting;
using Hearth.Server.Streaming;

namespace Hearth.Server.Tests.Doubles;

/// <summary>
/// TEST DOUBLE of the model's text side: one token per UTF-16 char, a ChatML-like template that also shows the
/// tools and kwargs it was given, and a parser driven by markers in the scripted deltas:
/// "§r…" reasoning, "§t{i}:{name}" tool call start, "§a{i}:{fragment}" arguments, anything else content.
/// </summary>
internal sealed class ScriptedTextModel : IChatTextModel
{
    public int VocabSize => 65536;

    public List<(JsonArray Messages, JsonArray? Tools, IReadOnlyDictionary<string, JsonNode?>? Kwargs)> Rendered { get; } = [];

    public IReadOnlyList<int> Encode(string text) => text.Select(c => (int)c).ToArray();

    public string Decode(IReadOnlyList<int> tokenIds, bool skipSpecialTokens) => new(tokenIds.Select(id => (char)id).ToArray());

    public string RenderChat(JsonArray messages, JsonArray? tools, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonNode?>? templateKwargs)
    {
        lock (Rendered) Rendered.Add(((JsonArray)messages.DeepClone(), (JsonArray?)tools?.DeepClone(), templateKwargs));
        var text = new StringBuilder();
        if (tools is not null) text.Append("<tools>").Append(tools.ToJsonString()).Append("</tools>\n");
        foreach (var m in messages) text.Append("<|im_start|>").Append((string?)m!["role"]).Append('\n').Append((string?)m["content"]).Append("<|im_end|>\n");
        if (addGenerationPrompt) text.Append("<|im_start|>assistant\n");
        return text.ToString();
    }

    public IChatOutputParser CreateOutputParser(string promptText, bool parseToolCalls) => new MarkerParser();

    /// <summary>The scripted engine ignores constraints; tests see that one was attached to the engine request.</summary>
    public Hearth.Engine.Sampling.ITokenConstraint CreateJsonConstraint(string promptText) => new InertConstraint();

    internal sealed class InertConstraint : Hearth.Engine.Sampling.ITokenConstraint
    {
        public void MaskLogits(Span<float> logits, ReadOnlySpan<int> endTokenIds) { }

        public void Accept(int tokenId) { }
    }

    private sealed class MarkerParser : IChatOutputParser
    {
        private readonly StringBuilder _reasoning = new();
        private readonly StringBuilder _content = new();
        private readonly List<(string Name, StringBuilder Args)> _calls = [];
        private bool _sawReasoning;

        public void Push(string textDelta, List<ChatStreamEvent> events)
        {
            if (textDelta.StartsWith("§r", StringComparison.Ordinal))
            {
                _sawReasoning = true;
                _reasoning.Append(textDelta[2..]);
                events.Add(ChatStreamEvent.ReasoningText(textDelta[2..]));
            }
            else if (textDelta.StartsWith("§t", StringComparison.Ordinal) || textDelta.StartsWith("§a", StringComparison.Ordinal))
            {
                var colon = textDelta.IndexOf(':', StringComparison.Ordinal);
                var index = int.Parse(textDelta[2..colon], System.Globalization.CultureInfo.InvariantCulture);
                var text = textDelta[(colon + 1)..];
                if (textDelta[1] == 't')
                {
                    _calls.Add((text, new StringBuilder()));
                    events.Add(ChatStreamEvent.ToolCallStart(index, text));
                }
                else
                {
                    _calls[index].Args.Append(text);
                    events.Add(ChatStreamEvent.ToolCallArgs(index, text));
                }
            }
            else if (textDelta.Length > 0)
            {
                _content.Append(textDelta);
                events.Add(ChatStreamEvent.ContentText(textDelta));
            }
        }

        public void Finish(List<ChatStreamEvent> events)
        {
        }

        public ChatOutputSummary Result(string engineFinishReason)
        {
            var content = _content.ToString();
            return new ChatOutputSummary(
                _sawReasoning ? _reasoning.ToString() : null,
                string.IsNullOrWhiteSpace(content) ? null : content,
                _calls.Select(c => (c.Name, c.Args.ToString())).ToArray(),
                _calls.Count > 0 && engineFinishReason == "stop" ? "tool_calls" : engineFinishReason);
        }
    }
}
