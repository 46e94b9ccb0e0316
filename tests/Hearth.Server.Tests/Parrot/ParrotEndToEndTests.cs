using System.Net;
using System.Text.Json.Nodes;
using Hearth.Server.Tests.Http;

namespace Hearth.Server.Tests.Parrot;

/// <summary>The real engine and tokenizer with the parrot model, over real HTTP: every fixture case, every API.</summary>
[Collection(ParrotServerCollection.Name)]
public sealed class ParrotEndToEndTests(ParrotServer parrot)
{
    public static TheoryData<string> Cases => ParrotCases.Ids();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ChatCompletionMatchesTheCase(string id)
    {
        var c = ParrotCases.Get(id);
        var (status, body, _) = await parrot.Client.PostAsync("/v1/chat/completions", ParrotCases.ChatRequest(c, stream: false).ToJsonString());
        Assert.True(status == HttpStatusCode.OK, body);
        var json = HttpHelpers.Json(body);
        var message = json["choices"]![0]!["message"]!;
        var calls = (message["tool_calls"]?.AsArray() ?? []).Select(t =>
        {
            Assert.StartsWith("call_", (string?)t!["id"]);
            return ((string)t["function"]!["name"]!, JsonNode.Parse((string)t["function"]!["arguments"]!));
        }).ToList();
        ParrotCases.AssertMatches(c, (string?)message["reasoning_content"], (string?)message["content"], calls, (string)json["choices"]![0]!["finish_reason"]!);
        Assert.Equal(c["prompt_ids"]!.AsArray().Count, (int)json["usage"]!["prompt_tokens"]!);
        Assert.Equal(c["response_ids"]!.AsArray().Count, (int)json["usage"]!["completion_tokens"]!);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StreamedChatCompletionMatchesTheCase(string id)
    {
        var c = ParrotCases.Get(id);
        var (status, body, _) = await parrot.Client.PostAsync("/v1/chat/completions", ParrotCases.ChatRequest(c, stream: true).ToJsonString());
        Assert.True(status == HttpStatusCode.OK, body);
        var (reasoning, content, calls, finish) = StreamedChat.Assemble(Sse.Parse(body));
        ParrotCases.AssertMatches(c, reasoning, content, calls, finish);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task OllamaChatMatchesTheCase(string id)
    {
        var c = ParrotCases.Get(id);
        var (status, body, _) = await parrot.Client.PostAsync("/api/chat", ParrotCases.OllamaRequest(c).ToJsonString());
        Assert.True(status == HttpStatusCode.OK, body);
        var json = HttpHelpers.Json(body);
        var message = json["message"]!;
        var calls = (message["tool_calls"]?.AsArray() ?? []).Select(t => ((string)t!["function"]!["name"]!, t["function"]!["arguments"])).ToList();
        var content = (string?)message["content"];
        var expectedFinish = (string?)c["expected"]!["finish_reason"];
        ParrotCases.AssertMatches(c, (string?)message["thinking"], string.IsNullOrEmpty(content) ? null : content, calls,
            expectedFinish == "tool_calls" && (string?)json["done_reason"] == "stop" ? "tool_calls" : (string)json["done_reason"]!);
        Assert.True((bool)json["done"]!);
        Assert.Equal(c["prompt_ids"]!.AsArray().Count, (int)json["prompt_eval_count"]!);
    }

    [Fact]
    public async Task SixteenConcurrentStreamingClientsEachGetTheirCase()
    {
        var ids = ParrotCases.AllIds();
        var tasks = Enumerable.Range(0, 16).Select(async i =>
        {
            var c = ParrotCases.Get(ids[i % ids.Length]);
            var (status, body, _) = await parrot.Client.PostAsync("/v1/chat/completions", ParrotCases.ChatRequest(c, stream: true).ToJsonString());
            Assert.True(status == HttpStatusCode.OK, body);
            var (reasoning, content, calls, finish) = StreamedChat.Assemble(Sse.Parse(body));
            ParrotCases.AssertMatches(c, reasoning, content, calls, finish);
        });
        await Task.WhenAll(tasks);
        await WaitForIdleAsync();
    }

    [Fact]
    public async Task ADisconnectedStreamingClientFreesItsKvBlocks()
    {
        await WaitForIdleAsync();
        var stats = parrot.Engine.GetStats();
        Assert.Equal(stats.NumTotalBlocks, stats.NumFreeBlocks);
        var body = ParrotCases.ChatRequest(ParrotCases.Get("poem"), stream: true);
        body["ignore_eos"] = true;
        body["max_tokens"] = 1500;
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = parrot.Client.BaseAddress };
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") })
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[8192];
            var read = 0;
            while (read < 2000)
            {
                int n = await stream.ReadAsync(buffer);
                Assert.True(n > 0, "the stream ended before the client hung up");
                read += n;
            }
            Assert.True(parrot.Engine.GetStats().NumFreeBlocks < stats.NumTotalBlocks);
        }
        await WaitForIdleAsync();
    }

    [Fact]
    public async Task TokenizeMatchesTheFixturePromptIds()
    {
        var c = ParrotCases.Get("weather-answer");
        var request = new JsonObject { ["model"] = ParrotServer.ModelName, ["messages"] = c["request"]!["messages"]!.DeepClone(), ["tools"] = c["request"]!["tools"]!.DeepClone() };
        request["chat_template_kwargs"] = new JsonObject { ["enable_thinking"] = c["request"]!["enable_thinking"]!.DeepClone() };
        var (_, body, _) = await parrot.Client.PostAsync("/tokenize", request.ToJsonString());
        Assert.Equal(c["prompt_ids"]!.AsArray().Select(n => (int)n!), HttpHelpers.Json(body)["tokens"]!.AsArray().Select(n => (int)n!));
    }

    [Fact]
    public async Task StopReasonIsNullForEosTheStringForAStopStringAndTheIdForAStopToken()
    {
        var c = ParrotCases.Get("capital");
        async Task<JsonNode> Choice(Action<JsonObject> edit)
        {
            var body = ParrotCases.ChatRequest(c, stream: false);
            edit(body);
            var (status, text, _) = await parrot.Client.PostAsync("/v1/chat/completions", body.ToJsonString());
            Assert.True(status == HttpStatusCode.OK, text);
            return HttpHelpers.Json(text)["choices"]![0]!;
        }

        var atEos = await Choice(_ => { });
        Assert.Equal("stop", (string?)atEos["finish_reason"]);
        Assert.Null(atEos["stop_reason"]);

        var atString = await Choice(b => b["stop"] = new JsonArray("France"));
        Assert.Equal("The capital of ", (string?)atString["message"]!["content"]);
        Assert.Equal("France", (string?)atString["stop_reason"]);

        // " Paris" is one token of the parrot's answer; as a stop token it ends the answer there and is reported as a number.
        var parisId = parrot.Text.Encode(" Paris").Single();
        var atToken = await Choice(b => b["stop_token_ids"] = new JsonArray(parisId));
        Assert.Equal(parisId, (int)atToken["stop_reason"]!);
        Assert.Equal("stop", (string?)atToken["finish_reason"]);
    }

    [Fact]
    public async Task JsonResponseFormatsHoldTheAnswerToJson()
    {
        // The parrot never learned JSON, so whatever it says here comes out as JSON only because decoding is held to it.
        var body = ParrotCases.ChatRequest(ParrotCases.Get("capital"), stream: false);
        body["response_format"] = new JsonObject { ["type"] = "json_object" };
        body["max_tokens"] = 40;
        var (status, text, _) = await parrot.Client.PostAsync("/v1/chat/completions", body.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, text);
        var choice = HttpHelpers.Json(text)["choices"]![0]!;
        AssertJsonAnswer((string)choice["message"]!["content"]!, (string)choice["finish_reason"]!);

        var ollama = ParrotCases.OllamaRequest(ParrotCases.Get("capital"));
        ollama["format"] = "json";
        ollama["options"]!["num_predict"] = 40;
        (status, text, _) = await parrot.Client.PostAsync("/api/chat", ollama.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, text);
        var json = HttpHelpers.Json(text);
        AssertJsonAnswer((string)json["message"]!["content"]!, (string)json["done_reason"]! == "length" ? "length" : "stop");
    }

    private static void AssertJsonAnswer(string content, string finishReason)
    {
        Assert.StartsWith("{", content);
        var scanner = new Hearth.Tokenization.Constraints.JsonPrefixScanner();
        Assert.True(scanner.Push(System.Text.Encoding.UTF8.GetBytes(content)), content);
        if (finishReason == "stop") Assert.Equal(System.Text.Json.JsonValueKind.Object, JsonNode.Parse(content)!.GetValueKind());
        else Assert.Equal("length", finishReason);
    }

    /// <summary>Waits until no request runs or waits and every KV block is free again.</summary>
    private async Task WaitForIdleAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var s = parrot.Engine.GetStats();
            if (s.NumRunning == 0 && s.NumWaiting == 0 && s.NumFreeBlocks == s.NumTotalBlocks) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"engine not idle: {s}");
            await Task.Delay(20);
        }
    }
}
