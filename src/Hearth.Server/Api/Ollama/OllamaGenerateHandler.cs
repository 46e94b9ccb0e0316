using System.Text;
using System.Text.Json.Nodes;
using Hearth.Engine;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.Ollama;

/// <summary>
/// POST /api/generate: a prompt (with optional system) rendered through the chat template, or used as-is
/// with raw:true. The final object carries "context": the prompt and output token ids.
/// </summary>
internal static class OllamaGenerateHandler
{
    public static async Task HandleAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        var model = RequestBody.CheckModel(body, context);
        var promptText = JsonFields.String(body, "prompt") ?? "";
        if (JsonFields.Array(body, "images") is { Count: > 0 }) throw ApiException.BadRequest("images are not supported by this model", "images");
        if (JsonFields.String(body, "suffix") is { Length: > 0 }) throw ApiException.BadRequest("suffix is not supported", "suffix");
        var settings = SamplingReader.FromOllama(JsonFields.Object(body, "options"), context.Defaults);
        var streamMode = JsonFields.Bool(body, "stream") ?? true;
        var raw = JsonFields.Bool(body, "raw") ?? false;
        var formatInstruction = OllamaCommon.FormatInstruction(body);
        if (promptText.Length == 0)
        {
            // Ollama answers an empty prompt by (re)loading the model; ours is always loaded.
            var loaded = new OllamaGenerateDto(model, OllamaCommon.Now(), "", true) { DoneReason = "load" };
            await JsonStreamWriter.WriteJsonAsync(http.Response, 200, loaded, ServerJsonContext.Default.OllamaGenerateDto);
            return;
        }

        string prompt;
        if (raw)
        {
            prompt = promptText;
        }
        else
        {
            var messages = new JsonArray();
            if (JsonFields.String(body, "system") is { Length: > 0 } system) messages.Add((JsonNode)new JsonObject { ["role"] = "system", ["content"] = system });
            messages.Add((JsonNode)new JsonObject { ["role"] = "user", ["content"] = promptText });
            if (formatInstruction is not null) ChatMessages.AddSystemInstruction(messages, formatInstruction);
            prompt = context.Text.RenderChat(messages, null, addGenerationPrompt: true, OllamaCommon.TemplateKwargs(body));
        }
        var promptIds = context.Text.Encode(prompt);
        settings = OllamaCommon.Fit(settings, promptIds.Count, context.MaxModelLen);

        using var lease = OllamaCommon.Enter(context);
        var timings = new OllamaCommon.Timings();
        await using var stream = await EngineStream.StartAsync(context.Engine, settings.ToEngineRequest(RequestIds.New("ollama-"), promptIds,
            formatInstruction is null ? null : context.Text.CreateJsonConstraint(prompt)), http.RequestAborted);
        var parser = context.Text.CreateOutputParser(prompt, parseToolCalls: false);
        var cancel = http.RequestAborted;
        var typeInfo = ServerJsonContext.Default.OllamaGenerateDto;
        var allIds = new List<int>(promptIds);
        var events = new List<ChatStreamEvent>();
        var response = new StringBuilder();
        var thinking = new StringBuilder();
        var allResponse = new StringBuilder();
        var allThinking = new StringBuilder();
        JsonStreamWriter? writer = null;
        if (streamMode)
        {
            JsonStreamWriter.Begin(http.Response, StreamFraming.NewlineDelimitedJson);
            writer = new JsonStreamWriter(http.Response, StreamFraming.NewlineDelimitedJson);
        }

        var finishReason = "abort";
        var parserFinished = false;
        EngineUsage usage = default;
        await foreach (var output in stream.ReadAllAsync())
        {
            timings.MarkOutput();
            allIds.AddRange(output.NewTokenIds);
            events.Clear();
            parser.Push(output.TextDelta, events);
            if (output.IsFinished)
            {
                parser.Finish(events);
                parserFinished = true;
            }
            await EmitAsync();
            usage = output.Usage;
            finishReason = output.FinishReason ?? finishReason;
        }
        if (!parserFinished)
        {
            events.Clear();
            parser.Finish(events);
            await EmitAsync();
        }

        var final = streamMode
            ? new OllamaGenerateDto(model, OllamaCommon.Now(), "", true)
            : new OllamaGenerateDto(model, OllamaCommon.Now(), allResponse.ToString(), true) { Thinking = allThinking.Length == 0 ? null : allThinking.ToString() };
        final = OllamaCommon.WithStats(final with { Context = [.. allIds] }, finishReason, usage, timings);
        if (writer is not null) await writer.WriteAsync(final, typeInfo, cancel);
        else await JsonStreamWriter.WriteJsonAsync(http.Response, 200, final, typeInfo);

        async Task EmitAsync()
        {
            response.Clear();
            thinking.Clear();
            foreach (var e in events)
            {
                if (e.Kind == ChatStreamEventKind.Reasoning) thinking.Append(e.Text);
                else response.Append(e.Text);
            }
            allResponse.Append(response);
            allThinking.Append(thinking);
            if (writer is null || (response.Length == 0 && thinking.Length == 0)) return;
            var dto = new OllamaGenerateDto(model, OllamaCommon.Now(), response.ToString(), false) { Thinking = thinking.Length == 0 ? null : thinking.ToString() };
            await writer.WriteAsync(dto, typeInfo, cancel);
        }
    }
}
