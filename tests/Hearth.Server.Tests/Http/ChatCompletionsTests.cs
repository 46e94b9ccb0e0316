using System.Net;
using System.Text.Json.Nodes;
using Hearth.Server.Hosting;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

public sealed class ChatCompletionsTests
{
    private const string Hello = """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task NonStreamingReturnsMessageUsageAndCachedTokens()
    {
        var engine = new ScriptedEngine(_ => ["Hello", ", ", "world"]) { CachedPromptTokens = 16 };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, _) = await server.Client.PostAsync("/v1/chat/completions", Hello);
        Assert.Equal(HttpStatusCode.OK, status);
        var json = HttpHelpers.Json(body);
        Assert.Equal("chat.completion", (string?)json["object"]);
        Assert.StartsWith("chatcmpl-", (string?)json["id"]);
        Assert.Equal("test-model", (string?)json["model"]);
        var choice = json["choices"]![0]!;
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Equal("Hello, world", (string?)choice["message"]!["content"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        var prompt = engine.Requests.Single().PromptTokenIds.Count;
        Assert.Equal(prompt, (int)json["usage"]!["prompt_tokens"]!);
        Assert.Equal(12, (int)json["usage"]!["completion_tokens"]!);
        Assert.Equal(prompt + 12, (int)json["usage"]!["total_tokens"]!);
        Assert.Equal(16, (int)json["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
    }

    [Fact]
    public async Task StreamingSendsRoleFirstThenDeltasThenFinishThenUsageThenDone()
    {
        var engine = new ScriptedEngine(_ => ["§rthink ", "§rhard", "An", "swer"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, response) = await server.Client.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var chunks = Sse.Parse(body);
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        var withChoices = chunks.Where(c => c["choices"]!.AsArray().Count > 0).ToList();
        var reasoning = string.Concat(withChoices.Select(c => (string?)c["choices"]![0]!["delta"]!["reasoning_content"]));
        var content = string.Concat(withChoices.Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
        Assert.Equal("think hard", reasoning);
        Assert.Equal("Answer", content);
        Assert.Equal("stop", (string?)withChoices[^1]["choices"]![0]!["finish_reason"]);
        Assert.All(withChoices[..^1], c => Assert.Null((string?)c["choices"]![0]!["finish_reason"]));
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        // The double counts one token per char of each scripted delta, markers included.
        Assert.Equal("§rthink ".Length + "§rhard".Length + "Answer".Length, (int)usage["usage"]!["completion_tokens"]!);
        Assert.Equal(engine.Requests.Single().PromptTokenIds.Count, (int)usage["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task StreamedToolCallsSendNameFirstThenArgumentFragments()
    {
        var engine = new ScriptedEngine(_ => ["§rplan", "§t0:get_weather", "§a0:{\"city\": ", "§a0:\"Paris\"}", "§t1:get_time", "§a1:{}"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var request = """{"messages":[{"role":"user","content":"hi"}],"stream":true,"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]}""";
        var (_, body, _) = await server.Client.PostAsync("/v1/chat/completions", request);
        var deltas = Sse.Parse(body).Select(c => c["choices"]![0]!).ToList();
        var callDeltas = deltas.Where(d => d["delta"]!["tool_calls"] is not null).Select(d => d["delta"]!["tool_calls"]![0]!.AsObject()).ToList();

        var first = callDeltas[0];
        Assert.Equal(0, (int)first["index"]!);
        Assert.StartsWith("call_", (string?)first["id"]);
        Assert.Equal("function", (string?)first["type"]);
        Assert.Equal("get_weather", (string?)first["function"]!["name"]);
        Assert.Equal("", (string?)first["function"]!["arguments"]);
        var later = callDeltas.Where(c => (int)c["index"]! == 0).Skip(1).ToList();
        Assert.All(later, c =>
        {
            Assert.False(c.ContainsKey("id"));
            Assert.False(c["function"]!.AsObject().ContainsKey("name"));
        });
        Assert.Equal("{\"city\": \"Paris\"}", string.Concat(later.Select(c => (string?)c["function"]!["arguments"])));
        var second = callDeltas.Where(c => (int)c["index"]! == 1).ToList();
        Assert.Equal("get_time", (string?)second[0]["function"]!["name"]);
        Assert.NotEqual((string?)first["id"], (string?)second[0]["id"]);
        Assert.Equal("{}", string.Concat(second.Skip(1).Select(c => (string?)c["function"]!["arguments"])));
        Assert.Equal("tool_calls", (string?)deltas[^1]["finish_reason"]);
    }

    [Fact]
    public async Task NonStreamingToolCallsHaveIdsTypeStringArgumentsAndNullContent()
    {
        var engine = new ScriptedEngine(_ => ["§t0:get_weather", "§a0:{\"city\": \"杭州\"}"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (_, body, _) = await server.Client.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}""");
        var choice = HttpHelpers.Json(body)["choices"]![0]!;
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        var message = choice["message"]!.AsObject();
        Assert.True(message.ContainsKey("content"));
        Assert.Null(message["content"]);
        var call = message["tool_calls"]![0]!;
        Assert.StartsWith("call_", (string?)call["id"]);
        Assert.Equal("function", (string?)call["type"]);
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        Assert.Equal("杭州", (string?)JsonNode.Parse((string)call["function"]!["arguments"]!)!["city"]);
    }

    [Fact]
    public async Task ParallelToolCallsFalseKeepsOnlyTheFirstCall()
    {
        var engine = new ScriptedEngine(_ => ["§t0:a", "§a0:{}", "§t1:b", "§a1:{}"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (_, body, _) = await server.Client.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":false,"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]}""");
        var calls = HttpHelpers.Json(body)["choices"]![0]!["message"]!["tool_calls"]!.AsArray();
        Assert.Single(calls);
        Assert.Equal("a", (string?)calls[0]!["function"]!["name"]);
    }

    [Fact]
    public async Task DefaultsComeFromGenerationConfigAndRequestOverrides()
    {
        var engine = new ScriptedEngine(_ => ["x"]);
        var defaults = new SamplingDefaults { Temperature = 0.6f, TopK = 20, TopP = 0.95f };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel(), defaults: defaults);
        await server.Client.PostAsync("/v1/chat/completions", Hello);
        await server.Client.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"temperature":0,"top_k":5,"top_p":0.5,"min_p":0.1,"seed":7,"presence_penalty":0.5,"frequency_penalty":0.25,"repetition_penalty":1.1,"max_completion_tokens":9,"stop":"END","logprobs":true,"top_logprobs":3}""");
        var requests = engine.Requests.ToArray();
        Assert.Equal(0.6f, requests[0].Sampling.Temperature);
        Assert.Equal(20, requests[0].Sampling.TopK);
        Assert.Equal(0.95f, requests[0].Sampling.TopP);
        var s = requests[1].Sampling;
        Assert.Equal((0f, 5, 0.5f, 0.1f, 7UL, 0.5f, 0.25f, 1.1f, 3), (s.Temperature, s.TopK, s.TopP, s.MinP, s.Seed!.Value, s.PresencePenalty, s.FrequencyPenalty, s.RepetitionPenalty, s.TopLogprobs));
        Assert.Equal(9, requests[1].MaxTokens);
        Assert.Equal(["END"], requests[1].StopStrings);
    }

    [Fact]
    public async Task LogprobsAreReportedPerTokenWithTopAlternatives()
    {
        var engine = new ScriptedEngine(_ => ["ab"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (_, body, _) = await server.Client.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":1}""");
        var content = HttpHelpers.Json(body)["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal(["a", "b"], content.Select(c => (string?)c!["token"]));
        Assert.Equal(-0.5f, (float)content[0]!["logprob"]!);
        Assert.Equal([97], content[0]!["bytes"]!.AsArray().Select(b => (int)b!));
        Assert.Single(content[0]!["top_logprobs"]!.AsArray());
    }

    [Fact]
    public async Task ToolChoiceNoneHidesToolsAndNamedChoiceOffersOnlyThatTool()
    {
        var engine = new ScriptedEngine(_ => ["ok"]);
        var text = new ScriptedTextModel();
        await using var server = await RunningServer.StartAsync(engine, text);
        const string Tools = """[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]""";
        await server.Client.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"hi"}],"tools":{{Tools}},"tool_choice":"none"}""");
        await server.Client.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"tools":""" + Tools + ""","tool_choice":{"type":"function","function":{"name":"b"}}}""");
        await server.Client.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"hi"}],"tools":{{Tools}},"tool_choice":"required"}""");
        Assert.Null(text.Rendered[0].Tools);
        Assert.Equal(["b"], text.Rendered[1].Tools!.Select(t => (string?)t!["function"]!["name"]));
        Assert.Equal(2, text.Rendered[2].Tools!.Count);
    }

    [Fact]
    public async Task MessagesAreNormalizedForTheTemplate()
    {
        var engine = new ScriptedEngine(_ => ["ok"]);
        var text = new ScriptedTextModel();
        await using var server = await RunningServer.StartAsync(engine, text);
        var (status, _, _) = await server.Client.PostAsync("/v1/chat/completions", """
            {"messages":[
              {"role":"developer","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"part one"},{"type":"text","text":"part two"}]},
              {"role":"assistant","content":null,"reasoning_content":"hmm","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\": 1}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"42"}],
             "chat_template_kwargs":{"enable_thinking":false},
             "response_format":{"type":"json_object"}}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        var (messages, _, kwargs) = text.Rendered.Single();
        Assert.Equal("system", (string?)messages[0]!["role"]);
        Assert.StartsWith("be brief\n\n", (string?)messages[0]!["content"]);
        Assert.Contains("JSON", (string?)messages[0]!["content"]);
        Assert.Equal("part one\npart two", (string?)messages[1]!["content"]);
        Assert.Equal("", (string?)messages[2]!["content"]);
        Assert.Equal("hmm", (string?)messages[2]!["reasoning_content"]);
        Assert.Equal("{\"x\": 1}", (string?)messages[2]!["tool_calls"]![0]!["function"]!["arguments"]);
        Assert.Equal("call_1", (string?)messages[3]!["tool_call_id"]);
        Assert.False((bool)kwargs!["enable_thinking"]!);
    }

    [Fact]
    public async Task SixteenConcurrentStreamsEachGetTheirOwnCompleteAnswer()
    {
        var engine = new ScriptedEngine(r => r.PromptTokenIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture).Select(c => c.ToString()).Append("!").ToArray())
        {
            StepDelay = TimeSpan.FromMilliseconds(5),
        };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var tasks = Enumerable.Range(0, 16).Select(async i =>
        {
            var user = new string('x', i + 1);
            var (_, body, _) = await server.Client.PostAsync("/v1/chat/completions",
                $$"""{"messages":[{"role":"user","content":"{{user}}"}],"stream":true}""");
            var content = string.Concat(Sse.Parse(body).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
            return (i, content);
        }).ToArray();
        var results = await Task.WhenAll(tasks);
        var expectedLength = new ScriptedTextModel().RenderChat([new JsonObject { ["role"] = "user", ["content"] = "" }], null, true, null).Length;
        foreach (var (i, content) in results) Assert.Equal($"{expectedLength + i + 1}!", content);
        Assert.Equal(engine.NumTotalBlocks, engine.GetStats().NumFreeBlocks);
    }
}
