using System.Net;
using System.Text.Json.Nodes;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

public sealed class OllamaTests
{
    [Fact]
    public async Task ChatStreamsNdjsonWithThinkingAndWholeToolCallsThenAFinalSummary()
    {
        var engine = new ScriptedEngine(_ => ["§rweigh", "§r it", "§t0:get_weather", "§a0:{\"city\":", "§a0:\"Oslo\"}", "§t1:get_time", "§a1:{}"]);
        var text = new ScriptedTextModel();
        await using var server = await RunningServer.StartAsync(engine, text);
        var (status, body, response) = await server.Client.PostAsync("/api/chat",
            """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"think":true,"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
        var lines = Sse.ParseNdjson(body);
        Assert.All(lines[..^1], l => Assert.False((bool)l["done"]!));
        Assert.Equal("weigh it", string.Concat(lines.Select(l => (string?)l["message"]!["thinking"])));
        var calls = lines.SelectMany(l => l["message"]!["tool_calls"]?.AsArray() ?? []).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal("get_weather", (string?)calls[0]!["function"]!["name"]);
        Assert.Equal("Oslo", (string?)calls[0]!["function"]!["arguments"]!["city"]);
        Assert.IsType<JsonObject>(calls[1]!["function"]!["arguments"]);
        var final = lines[^1];
        Assert.True((bool)final["done"]!);
        Assert.Equal("stop", (string?)final["done_reason"]);
        Assert.Equal(engine.Requests.Single().PromptTokenIds.Count, (int)final["prompt_eval_count"]!);
        Assert.True((int)final["eval_count"]! > 0);
        Assert.True((long)final["total_duration"]! >= (long)final["eval_duration"]!);
        Assert.True((bool)text.Rendered.Single().Kwargs!["enable_thinking"]!);
    }

    [Fact]
    public async Task ChatWithoutStreamingReturnsOneObjectAndHonoursOptions()
    {
        var engine = new ScriptedEngine(_ => ["Hi", " there"]);
        var text = new ScriptedTextModel();
        await using var server = await RunningServer.StartAsync(engine, text);
        var (status, body, _) = await server.Client.PostAsync("/api/chat", """
            {"model":"test-model:latest","stream":false,"think":false,
             "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_name":"f","content":"2"}],
             "options":{"temperature":0,"top_k":3,"top_p":0.9,"min_p":0.05,"seed":11,"stop":["\n\n"],"repeat_penalty":1.2,"num_predict":7,"num_ctx":2048}}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        var json = HttpHelpers.Json(body);
        Assert.True((bool)json["done"]!);
        Assert.Equal("Hi there", (string?)json["message"]!["content"]);
        Assert.Equal("assistant", (string?)json["message"]!["role"]);
        var r = engine.Requests.Single();
        Assert.Equal((0f, 3, 0.9f, 0.05f, 11UL, 1.2f, 7), (r.Sampling.Temperature, r.Sampling.TopK, r.Sampling.TopP, r.Sampling.MinP, r.Sampling.Seed!.Value, r.Sampling.RepetitionPenalty, r.MaxTokens!.Value));
        Assert.Equal(["\n\n"], r.StopStrings);
        var rendered = text.Rendered.Single();
        Assert.False((bool)rendered.Kwargs!["enable_thinking"]!);
        Assert.Equal(1, (int)rendered.Messages[1]!["tool_calls"]![0]!["function"]!["arguments"]!["a"]!);
        Assert.Equal("f", (string?)rendered.Messages[2]!["name"]);
    }

    [Fact]
    public async Task GenerateStreamsResponseAndReturnsContext()
    {
        var engine = new ScriptedEngine(_ => ["ab", "c"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (_, body, _) = await server.Client.PostAsync("/api/generate", """{"model":"test-model","prompt":"why","system":"sys"}""");
        var lines = Sse.ParseNdjson(body);
        Assert.Equal("abc", string.Concat(lines.Select(l => (string?)l["response"])));
        var context = lines[^1]["context"]!.AsArray().Select(n => (int)n!).ToList();
        var prompt = engine.Requests.Single().PromptTokenIds;
        Assert.Equal(prompt.Concat("abc".Select(c => (int)c)), context);

        (_, body, _) = await server.Client.PostAsync("/api/generate", """{"model":"test-model","prompt":"RAW","raw":true,"stream":false}""");
        var json = HttpHelpers.Json(body);
        Assert.Equal("abc", (string?)json["response"]);
        Assert.Equal("RAW".Select(c => (int)c), engine.Requests.Last().PromptTokenIds);
    }

    [Fact]
    public async Task InfoRoutesDescribeTheServedModel()
    {
        var engine = new ScriptedEngine(_ => ["x"], maxModelLen: 777);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var tags = HttpHelpers.Json(await server.Client.GetStringAsync("/api/tags"));
        Assert.Equal("test-model", (string?)tags["models"]![0]!["name"]);
        var ps = HttpHelpers.Json(await server.Client.GetStringAsync("/api/ps"));
        Assert.Equal(777, (int)ps["models"]![0]!["context_length"]!);
        var version = HttpHelpers.Json(await server.Client.GetStringAsync("/api/version"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", (string?)version["version"]);
        var (status, body, _) = await server.Client.PostAsync("/api/show", """{"model":"test-model"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("tools", HttpHelpers.Json(body)["capabilities"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.PostAsync("/api/show", """{"model":"other"}""")).Status);
    }
}
