using Hearth.Engine;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.OpenAi;

/// <summary>POST /v1/chat/completions: render the chat, run it, and answer as one object or as SSE chunks.</summary>
internal static class ChatCompletionsHandler
{
    public static async Task HandleAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        var request = ChatRequestReader.Read(body, context);
        var prompt = context.Text.RenderChat(request.Messages, request.TemplateTools, request.AddGenerationPrompt, request.TemplateKwargs);
        var promptIds = context.Text.Encode(prompt);
        PromptGuard.Check(promptIds.Count, request.Settings.MaxTokens, context.MaxModelLen);

        using var lease = context.Gate.TryEnter()
            ?? throw new ApiException(StatusCodes.Status429TooManyRequests, "the server is at its limit of requests in flight; retry later", code: "server_overloaded");
        var id = RequestIds.New("chatcmpl-");
        var engineRequest = request.Settings.ToEngineRequest(id, promptIds, request.JsonOutput ? context.Text.CreateJsonConstraint(prompt) : null);
        await using var stream = await EngineStream.StartAsync(context.Engine, engineRequest, http.RequestAborted);
        var parser = context.Text.CreateOutputParser(prompt, request.ParseToolCalls);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream) await StreamAsync(http, context, request, stream, parser, id, created);
        else await CompleteAsync(http, context, request, stream, parser, id, created);
    }

    private static async Task CompleteAsync(HttpContext http, HearthServerContext context, ChatCompletionRequest request,
        EngineStream stream, IChatOutputParser parser, string id, long created)
    {
        var events = new List<ChatStreamEvent>();
        var logprobs = request.Settings.Logprobs ? new List<TokenLogprobDto>() : null;
        var finishReason = "abort";
        EngineUsage usage = default;
        object? stopReason = null;
        await foreach (var output in stream.ReadAllAsync())
        {
            parser.Push(output.TextDelta, events);
            events.Clear();
            if (logprobs is not null && LogprobsMapper.Chat(output.Logprobs, context.Text, request.Settings.Sampling.TopLogprobs) is { } mapped)
                logprobs.AddRange(mapped.Content);
            usage = output.Usage;
            if (output.FinishReason is { } reason)
            {
                finishReason = reason;
                stopReason = output.StopReason;
            }
        }
        parser.Finish(events);
        var result = parser.Result(finishReason);
        var calls = result.ToolCalls;
        if (!request.ParallelToolCalls && calls.Count > 1) calls = [calls[0]];
        ToolCallDto[]? toolCalls = calls.Count == 0
            ? null
            : calls.Select(c => new ToolCallDto(RequestIds.New("call_"), "function", new FunctionCallDto(c.Name, c.ArgumentsJson))).ToArray();
        var message = new ChatMessageDto("assistant", result.Content, result.ReasoningContent, toolCalls);
        var choice = new ChatChoiceDto(0, message, logprobs is null ? null : new ChatLogprobsDto([.. logprobs]), result.FinishReason, StopReasonJson(stopReason));
        var response = new ChatCompletionDto(id, "chat.completion", created, request.Model, [choice], UsageMapper.ToDto(usage));
        await JsonStreamWriter.WriteJsonAsync(http.Response, 200, response, ServerJsonContext.Default.ChatCompletionDto);
    }

    private static async Task StreamAsync(HttpContext http, HearthServerContext context, ChatCompletionRequest request,
        EngineStream stream, IChatOutputParser parser, string id, long created)
    {
        var cancel = http.RequestAborted;
        JsonStreamWriter.Begin(http.Response, StreamFraming.ServerSentEvents);
        var writer = new JsonStreamWriter(http.Response, StreamFraming.ServerSentEvents);
        var shaper = new ChatChunkShaper(id, created, request.Model, request.ParallelToolCalls);
        var typeInfo = ServerJsonContext.Default.ChatChunkDto;
        await writer.WriteAsync(shaper.RoleChunk(), typeInfo, cancel);

        var events = new List<ChatStreamEvent>();
        var chunks = new List<ChatChunkDto>();
        var finishReason = "abort";
        var parserFinished = false;
        EngineUsage usage = default;
        await foreach (var output in stream.ReadAllAsync())
        {
            events.Clear();
            chunks.Clear();
            parser.Push(output.TextDelta, events);
            if (output.IsFinished)
            {
                parser.Finish(events);
                parserFinished = true;
            }
            var logprobs = request.Settings.Logprobs ? LogprobsMapper.Chat(output.Logprobs, context.Text, request.Settings.Sampling.TopLogprobs) : null;
            shaper.Shape(events, logprobs, chunks);
            foreach (var chunk in chunks) await writer.WriteAsync(chunk, typeInfo, cancel);
            usage = output.Usage;
            if (output.FinishReason is { } reason) finishReason = reason;
        }
        if (!parserFinished)
        {
            // The stream ended without a finish (engine shut down): still release held-back text.
            events.Clear();
            chunks.Clear();
            parser.Finish(events);
            shaper.Shape(events, null, chunks);
            foreach (var chunk in chunks) await writer.WriteAsync(chunk, typeInfo, cancel);
        }
        var result = parser.Result(finishReason);
        await writer.WriteAsync(shaper.FinishChunk(result.FinishReason), typeInfo, cancel);
        if (request.IncludeUsage) await writer.WriteAsync(shaper.UsageChunk(UsageMapper.ToDto(usage)), typeInfo, cancel);
        await writer.WriteDoneAsync(cancel);
    }

    /// <summary>vLLM's stop_reason: the stop string or stop token id that ended the answer; null for eos or length.</summary>
    private static System.Text.Json.Nodes.JsonNode? StopReasonJson(object? stopReason) => stopReason switch
    {
        int tokenId => System.Text.Json.Nodes.JsonValue.Create(tokenId),
        string text => System.Text.Json.Nodes.JsonValue.Create(text),
        _ => null,
    };
}
