using System.Net;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

public sealed class ErrorTests
{
    public static TheoryData<string, int, string?, string> BadChatRequests => new()
    {
        { "{not json", 400, null, "invalid JSON" },
        { "[1,2]", 400, null, "must be a JSON object" },
        { "", 400, null, "empty" },
        { """{"model":"test-model"}""", 400, "messages", "'messages' is required" },
        { """{"messages":"hi"}""", 400, "messages", "must be an array" },
        { """{"messages":[]}""", 400, "messages", "at least one" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", 400, "temperature", "must be a number" },
        { """{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", 400, "stream", "must be a boolean" },
        { """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "gpt-4" },
        { """{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", 400, "max_tokens", "at least 1" },
        { """{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-5}""", 400, "max_completion_tokens", "at least 1" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":-1}""", 400, "temperature", "temperature" },
        { """{"messages":[{"role":"user","content":"hi"}],"top_p":0}""", 400, "top_p", "top_p" },
        { """{"messages":[{"role":"user","content":"hi"}],"top_p":1.5}""", 400, "top_p", "top_p" },
        { """{"messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role", "wizard" },
        { """{"messages":[{"content":"hi"}]}""", 400, "messages[0].role", "role is required" },
        { """{"messages":[{"role":"user"}]}""", 400, "messages[0].content", "content is required" },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content", "text" },
        { """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}""", 400, "tool_choice", "'b'" },
        { """{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""", 400, "tool_choice", "no tools" },
        { """{"messages":[{"role":"user","content":"hi"}],"n":2}""", 400, "n", "n=1" },
        { """{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", 400, "top_logprobs", "logprobs" },
        { """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}""", 400, "response_format", "yaml" },
        { """{"messages":[{"role":"user","content":"hi"}],"max_tokens":1000000}""", 400, "max_tokens", "maximum context length" },
    };

    [Theory]
    [MemberData(nameof(BadChatRequests))]
    public async Task BadChatRequestsGetTheOpenAiEnvelopeAndTheServerKeepsServing(string json, int status, string? param, string messagePart)
    {
        var engine = new ScriptedEngine(_ => ["fine"], maxModelLen: 512);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (code, body, _) = await server.Client.PostAsync("/v1/chat/completions", json);
        Assert.Equal(status, (int)code);
        var error = HttpHelpers.OpenAiError(body);
        Assert.Contains(messagePart, (string?)error["message"]);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Empty(engine.Requests);

        var (okStatus, okBody, _) = await server.Client.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Contains("fine", okBody);
    }

    [Fact]
    public async Task APromptLongerThanTheContextIsRefusedNamingBothCounts()
    {
        var engine = new ScriptedEngine(_ => ["x"], maxModelLen: 100);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var user = new string('y', 200);
        var (status, body, _) = await server.Client.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{user}}"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = (string)HttpHelpers.OpenAiError(body)["message"]!;
        var promptTokens = new ScriptedTextModel().RenderChat([new System.Text.Json.Nodes.JsonObject { ["role"] = "user", ["content"] = user }], null, true, null).Length;
        Assert.Contains("100 tokens", message);
        Assert.Contains($"{promptTokens} tokens", message);
    }

    [Fact]
    public async Task OllamaRoutesUseAPlainErrorString()
    {
        var engine = new ScriptedEngine(_ => ["x"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, _) = await server.Client.PostAsync("/api/chat", """{"model":"nope","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("nope", (string?)HttpHelpers.Json(body)["error"]);
        (status, body, _) = await server.Client.PostAsync("/api/chat", """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"options":{"temperature":-2}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("temperature", (string?)HttpHelpers.Json(body)["error"]);
        (status, body, _) = await server.Client.PostAsync("/api/generate", "{oops");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid JSON", (string?)HttpHelpers.Json(body)["error"]);
    }

    [Fact]
    public async Task UnknownRoutesGet404InTheOpenAiEnvelope()
    {
        var engine = new ScriptedEngine(_ => ["x"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, _) = await server.Client.PostAsync("/v1/nothing-here", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        HttpHelpers.OpenAiError(body);
    }
}
