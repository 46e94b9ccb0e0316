using System.Text;
using Hearth.Engine;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.Vllm;

/// <summary>
/// vLLM's own routes. /generate follows vLLM's demo api_server: {"prompt", sampling fields, "stream"} →
/// {"text": [prompt + output]}, streamed as NDJSON objects carrying the whole text so far.
/// </summary>
internal static class VllmHandlers
{
    public static async Task GenerateAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        var prompt = JsonFields.String(body, "prompt") ?? throw ApiException.BadRequest("'prompt' is required and must be a string", "prompt");
        var settings = SamplingReader.FromOpenAi(body, context.Defaults, context.Text.VocabSize, isChat: false);
        var streamMode = JsonFields.Bool(body, "stream") ?? false;
        var promptIds = context.Text.Encode(prompt);
        PromptGuard.Check(promptIds.Count, settings.MaxTokens, context.MaxModelLen);

        using var lease = context.Gate.TryEnter()
            ?? throw new ApiException(StatusCodes.Status429TooManyRequests, "the server is at its limit of requests in flight; retry later");
        await using var stream = await EngineStream.StartAsync(context.Engine, settings.ToEngineRequest(RequestIds.New("gen-"), promptIds), http.RequestAborted);
        var text = new StringBuilder(prompt);
        var typeInfo = ServerJsonContext.Default.VllmGenerateDto;
        JsonStreamWriter? writer = null;
        if (streamMode)
        {
            JsonStreamWriter.Begin(http.Response, StreamFraming.NewlineDelimitedJson);
            writer = new JsonStreamWriter(http.Response, StreamFraming.NewlineDelimitedJson);
        }
        await foreach (var output in stream.ReadAllAsync())
        {
            text.Append(output.TextDelta);
            if (writer is not null && (output.TextDelta.Length > 0 || output.IsFinished))
                await writer.WriteAsync(new VllmGenerateDto([text.ToString()]), typeInfo, http.RequestAborted);
        }
        if (writer is null) await JsonStreamWriter.WriteJsonAsync(http.Response, 200, new VllmGenerateDto([text.ToString()]), typeInfo);
    }

    /// <summary>{"model", "prompt"} or {"model", "messages"} → {"tokens", "count", "max_model_len"}.</summary>
    public static async Task TokenizeAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        RequestBody.CheckModel(body, context);
        IReadOnlyList<int> tokens;
        if (JsonFields.Has(body, "messages"))
        {
            var messages = ChatMessages.Normalize(JsonFields.Array(body, "messages"));
            var tools = JsonFields.Array(body, "tools") is { Count: > 0 } given ? ChatMessages.Tools(given).Tools : null;
            var kwargs = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>(StringComparer.Ordinal);
            if (JsonFields.Object(body, "chat_template_kwargs") is { } k)
                foreach (var (key, value) in k) kwargs[key] = value?.DeepClone();
            var prompt = context.Text.RenderChat(messages, tools, JsonFields.Bool(body, "add_generation_prompt") ?? true, kwargs);
            tokens = context.Text.Encode(prompt);
        }
        else
        {
            var prompt = JsonFields.String(body, "prompt") ?? throw ApiException.BadRequest("'prompt' (a string) or 'messages' is required", "prompt");
            tokens = context.Text.Encode(prompt);
        }
        await JsonStreamWriter.WriteJsonAsync(http.Response, 200, new TokenizeDto(tokens, tokens.Count, context.MaxModelLen), ServerJsonContext.Default.TokenizeDto);
    }

    /// <summary>{"model", "tokens"} → {"prompt"}.</summary>
    public static async Task DetokenizeAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        RequestBody.CheckModel(body, context);
        var array = JsonFields.Array(body, "tokens") ?? throw ApiException.BadRequest("'tokens' is required", "tokens");
        var ids = JsonFields.IntList(array, "tokens", context.Text.VocabSize);
        var prompt = context.Text.Decode(ids, skipSpecialTokens: false);
        await JsonStreamWriter.WriteJsonAsync(http.Response, 200, new DetokenizeDto(prompt), ServerJsonContext.Default.DetokenizeDto);
    }
}
