using System.Text;
using Hearth.Engine;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.Ollama;

/// <summary>
/// POST /api/chat: NDJSON by default (stream:false for one object). Thinking goes to message.thinking; a tool
/// call is sent whole, with arguments as a JSON object, once its arguments are complete (Ollama's shape).
/// </summary>
internal static class OllamaChatHandler
{
    public static async Task HandleAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        var model = RequestBody.CheckModel(body, context);
        var messages = ChatMessages.Normalize(JsonFields.Array(body, "messages"));
        var tools = JsonFields.Array(body, "tools") is { Count: > 0 } given ? ChatMessages.Tools(given).Tools : null;
        var formatInstruction = OllamaCommon.FormatInstruction(body);
        if (formatInstruction is not null) ChatMessages.AddSystemInstruction(messages, formatInstruction);
        var settings = SamplingReader.FromOllama(JsonFields.Object(body, "options"), context.Defaults);
        var streamMode = JsonFields.Bool(body, "stream") ?? true;

        var prompt = context.Text.RenderChat(messages, tools, addGenerationPrompt: true, OllamaCommon.TemplateKwargs(body));
        var promptIds = context.Text.Encode(prompt);
        settings = OllamaCommon.Fit(settings, promptIds.Count, context.MaxModelLen);

        using var lease = OllamaCommon.Enter(context);
        var timings = new OllamaCommon.Timings();
        await using var stream = await EngineStream.StartAsync(context.Engine, settings.ToEngineRequest(RequestIds.New("ollama-"), promptIds,
            formatInstruction is null ? null : context.Text.CreateJsonConstraint(prompt)), http.RequestAborted);
        var parser = context.Text.CreateOutputParser(prompt, parseToolCalls: tools is not null);
        if (streamMode) await StreamAsync(http, model, stream, parser, timings);
        else await CompleteAsync(http, model, stream, parser, timings);
    }

    private static async Task CompleteAsync(HttpContext http, string model, EngineStream stream, IChatOutputParser parser, OllamaCommon.Timings timings)
    {
        var events = new List<ChatStreamEvent>();
        var finishReason = "abort";
        EngineUsage usage = default;
        await foreach (var output in stream.ReadAllAsync())
        {
            timings.MarkOutput();
            parser.Push(output.TextDelta, events);
            events.Clear();
            usage = output.Usage;
            finishReason = output.FinishReason ?? finishReason;
        }
        parser.Finish(events);
        var result = parser.Result(finishReason);
        OllamaToolCallDto[]? calls = result.ToolCalls.Count == 0
            ? null
            : result.ToolCalls.Select(c => new OllamaToolCallDto(new OllamaFunctionDto(c.Name, OllamaCommon.ParseArguments(c.ArgumentsJson)))).ToArray();
        var message = new OllamaMessageDto("assistant", result.Content ?? "", string.IsNullOrEmpty(result.ReasoningContent) ? null : result.ReasoningContent, calls);
        var dto = OllamaCommon.WithStats(new OllamaChatDto(model, OllamaCommon.Now(), message, true), result.FinishReason, usage, timings);
        await JsonStreamWriter.WriteJsonAsync(http.Response, 200, dto, ServerJsonContext.Default.OllamaChatDto);
    }

    private static async Task StreamAsync(HttpContext http, string model, EngineStream stream, IChatOutputParser parser, OllamaCommon.Timings timings)
    {
        var cancel = http.RequestAborted;
        JsonStreamWriter.Begin(http.Response, StreamFraming.NewlineDelimitedJson);
        var writer = new JsonStreamWriter(http.Response, StreamFraming.NewlineDelimitedJson);
        var typeInfo = ServerJsonContext.Default.OllamaChatDto;
        var events = new List<ChatStreamEvent>();
        var content = new StringBuilder();
        var thinking = new StringBuilder();
        var calls = new ToolCallAccumulator();
        var finishReason = "abort";
        var parserFinished = false;
        EngineUsage usage = default;
        await foreach (var output in stream.ReadAllAsync())
        {
            timings.MarkOutput();
            events.Clear();
            parser.Push(output.TextDelta, events);
            if (output.IsFinished)
            {
                parser.Finish(events);
                parserFinished = true;
            }
            await WriteEventsAsync(output.IsFinished);
            usage = output.Usage;
            finishReason = output.FinishReason ?? finishReason;
        }
        if (!parserFinished)
        {
            events.Clear();
            parser.Finish(events);
            await WriteEventsAsync(true);
        }
        var result = parser.Result(finishReason);
        var final = new OllamaChatDto(model, OllamaCommon.Now(), new OllamaMessageDto("assistant", "", null, null), true);
        await writer.WriteAsync(OllamaCommon.WithStats(final, result.FinishReason, usage, timings), typeInfo, cancel);

        async Task WriteEventsAsync(bool isLast)
        {
            content.Clear();
            thinking.Clear();
            foreach (var e in events)
            {
                switch (e.Kind)
                {
                    case ChatStreamEventKind.Content: content.Append(e.Text); break;
                    case ChatStreamEventKind.Reasoning: thinking.Append(e.Text); break;
                    case ChatStreamEventKind.ToolCallStarted: calls.Start(e.ToolCallIndex, e.Text); break;
                    case ChatStreamEventKind.ToolCallArguments: calls.Append(e.ToolCallIndex, e.Text); break;
                }
            }
            var ready = calls.TakeCompleted(isLast);
            if (content.Length == 0 && thinking.Length == 0 && ready is null) return;
            var message = new OllamaMessageDto("assistant", content.ToString(), thinking.Length == 0 ? null : thinking.ToString(), ready);
            await writer.WriteAsync(new OllamaChatDto(model, OllamaCommon.Now(), message, false), typeInfo, cancel);
        }
    }

    /// <summary>Collects streamed argument fragments; a call is complete once the next one starts or the output ends.</summary>
    private sealed class ToolCallAccumulator
    {
        private readonly List<(int Index, string Name, StringBuilder Arguments)> _open = [];

        public void Start(int index, string name) => _open.Add((index, name, new StringBuilder()));

        public void Append(int index, string fragment)
        {
            foreach (var call in _open)
                if (call.Index == index) call.Arguments.Append(fragment);
        }

        public OllamaToolCallDto[]? TakeCompleted(bool all)
        {
            var count = all ? _open.Count : _open.Count - 1;
            if (count <= 0) return null;
            var done = new OllamaToolCallDto[count];
            for (var i = 0; i < count; i++)
            {
                var arguments = _open[i].Arguments.Length == 0 ? "{}" : _open[i].Arguments.ToString();
                done[i] = new OllamaToolCallDto(new OllamaFunctionDto(_open[i].Name, OllamaCommon.ParseArguments(arguments)));
            }
            _open.RemoveRange(0, count);
            return done;
        }
    }
}
