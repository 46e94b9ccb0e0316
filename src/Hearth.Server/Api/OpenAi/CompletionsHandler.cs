using System.Text;
using System.Text.Json.Nodes;
using Hearth.Engine;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.OpenAi;

/// <summary>
/// POST /v1/completions: raw prompt (text or token ids) in, text out. With echo and logprobs, echoed prompt
/// tokens are listed with null logprobs because the engine does not score prompt tokens.
/// </summary>
internal static class CompletionsHandler
{
    public static async Task HandleAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        var model = RequestBody.CheckModel(body, context);
        var settings = SamplingReader.FromOpenAi(body, context.Defaults, context.Text.VocabSize, isChat: false);
        var (promptText, promptIds) = ReadPrompt(body, context.Text);
        if (JsonFields.String(body, "suffix") is { Length: > 0 }) throw ApiException.BadRequest("suffix is not supported", "suffix");
        var echo = JsonFields.Bool(body, "echo") ?? false;
        var streamMode = JsonFields.Bool(body, "stream") ?? false;
        var includeUsage = JsonFields.Object(body, "stream_options") is { } so && (JsonFields.Bool(so, "include_usage") ?? false);
        PromptGuard.Check(promptIds.Count, settings.MaxTokens, context.MaxModelLen);

        using var lease = context.Gate.TryEnter()
            ?? throw new ApiException(StatusCodes.Status429TooManyRequests, "the server is at its limit of requests in flight; retry later", code: "server_overloaded");
        var id = RequestIds.New("cmpl-");
        await using var stream = await EngineStream.StartAsync(context.Engine, settings.ToEngineRequest(id, promptIds), http.RequestAborted);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var topCount = settings.Sampling.TopLogprobs;

        var legacy = settings.Logprobs ? new LegacyLogprobsDto([], [], [], []) : null;
        var textOffset = 0;
        if (echo && legacy is not null)
        {
            foreach (var tokenId in promptIds)
            {
                var token = LogprobsMapper.TokenText(context.Text, tokenId);
                legacy.Tokens.Add(token);
                legacy.TokenLogprobs.Add(null);
                legacy.TopLogprobs.Add(null);
                legacy.TextOffset.Add(textOffset);
                textOffset += token.Length;
            }
        }

        var finishReason = "abort";
        EngineUsage usage = default;
        if (!streamMode)
        {
            var text = new StringBuilder(echo ? promptText : "");
            await foreach (var output in stream.ReadAllAsync())
            {
                text.Append(output.TextDelta);
                if (legacy is not null && output.Logprobs is { } lp) LogprobsMapper.AppendLegacy(legacy, lp, context.Text, topCount, ref textOffset);
                usage = output.Usage;
                finishReason = output.FinishReason ?? finishReason;
            }
            var response = new CompletionDto(id, "text_completion", created, model,
                [new CompletionChoiceDto(0, text.ToString(), legacy, finishReason)], UsageMapper.ToDto(usage));
            await JsonStreamWriter.WriteJsonAsync(http.Response, 200, response, ServerJsonContext.Default.CompletionDto);
            return;
        }

        var cancel = http.RequestAborted;
        JsonStreamWriter.Begin(http.Response, StreamFraming.ServerSentEvents);
        var writer = new JsonStreamWriter(http.Response, StreamFraming.ServerSentEvents);
        var typeInfo = ServerJsonContext.Default.CompletionDto;
        if (echo) await writer.WriteAsync(Chunk(promptText, legacy, null), typeInfo, cancel);
        await foreach (var output in stream.ReadAllAsync())
        {
            LegacyLogprobsDto? piece = null;
            if (legacy is not null && output.Logprobs is { } lp)
            {
                piece = new LegacyLogprobsDto([], [], [], []);
                LogprobsMapper.AppendLegacy(piece, lp, context.Text, topCount, ref textOffset);
            }
            usage = output.Usage;
            finishReason = output.FinishReason ?? finishReason;
            if (output.TextDelta.Length > 0 || piece is not null || output.IsFinished)
                await writer.WriteAsync(Chunk(output.TextDelta, piece, output.FinishReason), typeInfo, cancel);
        }
        if (includeUsage) await writer.WriteAsync(new CompletionDto(id, "text_completion", created, model, [], UsageMapper.ToDto(usage)), typeInfo, cancel);
        await writer.WriteDoneAsync(cancel);

        CompletionDto Chunk(string text, LegacyLogprobsDto? logprobs, string? finish) =>
            new(id, "text_completion", created, model, [new CompletionChoiceDto(0, text, logprobs, finish)], null);
    }

    private static (string Text, IReadOnlyList<int> Ids) ReadPrompt(JsonObject body, IChatTextModel text)
    {
        var prompt = body["prompt"] ?? throw ApiException.BadRequest("'prompt' is required", "prompt");
        if (JsonFields.IsString(prompt))
        {
            var s = prompt.GetValue<string>();
            return (s, text.Encode(s));
        }
        if (prompt is not JsonArray array || array.Count == 0)
            throw ApiException.BadRequest("'prompt' must be a string, an array of token ids, or a one-element array of either", "prompt");
        if (array.Count == 1 && (JsonFields.IsString(array[0]) || array[0] is JsonArray))
        {
            if (JsonFields.IsString(array[0])) return (array[0]!.GetValue<string>(), text.Encode(array[0]!.GetValue<string>()));
            var inner = JsonFields.IntList((JsonArray)array[0]!, "prompt", text.VocabSize);
            return (text.Decode(inner, skipSpecialTokens: false), inner);
        }
        if (array[0] is JsonArray || JsonFields.IsString(array[0]))
            throw ApiException.BadRequest("batched prompts are not supported; send one prompt per request", "prompt");
        var ids = JsonFields.IntList(array, "prompt", text.VocabSize);
        return (text.Decode(ids, skipSpecialTokens: false), ids);
    }
}
