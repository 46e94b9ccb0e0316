using System.Text;
using Hearth.Server.Generation;
using Hearth.Server.Json;
using Hearth.Server.Streaming;

namespace Hearth.Server.Api.OpenAi;

/// <summary>
/// Shapes parsed output events into OpenAI chat.completion.chunk objects. Consecutive events of one kind
/// merge into one chunk; a tool call's first chunk carries index, id, type, name and arguments "", later
/// ones carry index and argument fragments only, as OpenAI streams them.
/// </summary>
internal sealed class ChatChunkShaper(string id, long created, string model, bool parallelToolCalls)
{
    private const string ChunkObject = "chat.completion.chunk";
    private readonly StringBuilder _pending = new();
    private readonly Dictionary<int, string> _toolCallIds = [];

    public ChatChunkDto RoleChunk() => Chunk(new ChatDeltaDto("assistant", "", null, null), null, null);

    /// <summary>Appends the chunks for <paramref name="events"/>; the first one carries <paramref name="logprobs"/>.</summary>
    public void Shape(List<ChatStreamEvent> events, ChatLogprobsDto? logprobs, List<ChatChunkDto> chunks)
    {
        var start = chunks.Count;
        var i = 0;
        while (i < events.Count)
        {
            var first = events[i];
            if (!parallelToolCalls && first.ToolCallIndex > 0 && first.Kind is ChatStreamEventKind.ToolCallStarted or ChatStreamEventKind.ToolCallArguments)
            {
                i++;
                continue;
            }
            if (first.Kind == ChatStreamEventKind.ToolCallStarted)
            {
                var callId = RequestIds.New("call_");
                _toolCallIds[first.ToolCallIndex] = callId;
                var call = new ToolCallDeltaDto(first.ToolCallIndex, callId, "function", new FunctionDeltaDto(first.Text, ""));
                chunks.Add(Chunk(new ChatDeltaDto(null, null, null, [call]), null, null));
                i++;
                continue;
            }
            _pending.Clear();
            var j = i;
            while (j < events.Count && events[j].Kind == first.Kind && events[j].ToolCallIndex == first.ToolCallIndex)
                _pending.Append(events[j++].Text);
            i = j;
            if (_pending.Length == 0) continue;
            var text = _pending.ToString();
            var delta = first.Kind switch
            {
                ChatStreamEventKind.Content => new ChatDeltaDto(null, text, null, null),
                ChatStreamEventKind.Reasoning => new ChatDeltaDto(null, null, text, null),
                _ => new ChatDeltaDto(null, null, null, [new ToolCallDeltaDto(first.ToolCallIndex, null, null, new FunctionDeltaDto(null, text))]),
            };
            chunks.Add(Chunk(delta, null, null));
        }
        if (logprobs is not null)
        {
            if (chunks.Count > start) chunks[start] = chunks[start] with { Choices = [chunks[start].Choices[0] with { Logprobs = logprobs }] };
            else chunks.Add(Chunk(new ChatDeltaDto(null, null, null, null), logprobs, null));
        }
    }

    public ChatChunkDto FinishChunk(string finishReason) => Chunk(new ChatDeltaDto(null, null, null, null), null, finishReason);

    public ChatChunkDto UsageChunk(UsageDto usage) => new(id, ChunkObject, created, model, [], usage);

    /// <summary>The id given to each streamed tool call, by index, so the final message can reuse them.</summary>
    public IReadOnlyDictionary<int, string> ToolCallIds => _toolCallIds;

    private ChatChunkDto Chunk(ChatDeltaDto delta, ChatLogprobsDto? logprobs, string? finishReason) =>
        new(id, ChunkObject, created, model, [new ChunkChoiceDto(0, delta, logprobs, finishReason)], null);
}
