using System.Net;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

public sealed class VllmAndCompletionsTests
{
    [Fact]
    public async Task TokenizeAndDetokenizeRoundTrip()
    {
        var engine = new ScriptedEngine(_ => ["x"], maxModelLen: 321);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, _) = await server.Client.PostAsync("/tokenize", """{"model":"test-model","prompt":"héllo"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var json = HttpHelpers.Json(body);
        Assert.Equal(5, (int)json["count"]!);
        Assert.Equal(321, (int)json["max_model_len"]!);
        var tokens = json["tokens"]!.ToJsonString();
        (_, body, _) = await server.Client.PostAsync("/detokenize", $$"""{"model":"test-model","tokens":{{tokens}}}""");
        Assert.Equal("héllo", (string?)HttpHelpers.Json(body)["prompt"]);

        (_, body, _) = await server.Client.PostAsync("/tokenize", """{"model":"test-model","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n".Length, (int)HttpHelpers.Json(body)["count"]!);

        (status, body, _) = await server.Client.PostAsync("/detokenize", """{"model":"test-model","tokens":[1,-4]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("tokens", (string?)HttpHelpers.OpenAiError(body)["param"]);
    }

    [Fact]
    public async Task GenerateReturnsPromptPlusOutputAndStreamsNdjson()
    {
        var engine = new ScriptedEngine(_ => [" wor", "ld"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (_, body, _) = await server.Client.PostAsync("/generate", """{"prompt":"hello","temperature":0}""");
        Assert.Equal("hello world", (string?)HttpHelpers.Json(body)["text"]![0]);
        (_, body, _) = await server.Client.PostAsync("/generate", """{"prompt":"hello","stream":true}""");
        var lines = Sse.ParseNdjson(body);
        Assert.Equal(["hello wor", "hello world"], lines.Select(l => (string?)l["text"]![0]));
    }

    [Fact]
    public async Task CompletionsAcceptTextOrTokenIdsEchoAndLegacyLogprobs()
    {
        var engine = new ScriptedEngine(_ => ["de", "f"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, body, _) = await server.Client.PostAsync("/v1/completions", """{"prompt":"abc","echo":true,"logprobs":1,"max_tokens":10}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var json = HttpHelpers.Json(body);
        Assert.Equal("text_completion", (string?)json["object"]);
        var choice = json["choices"]![0]!;
        Assert.Equal("abcdef", (string?)choice["text"]);
        var lp = choice["logprobs"]!;
        Assert.Equal(["a", "b", "c", "d", "e", "f"], lp["tokens"]!.AsArray().Select(t => (string?)t));
        Assert.Null(lp["token_logprobs"]![0]);
        Assert.Equal(-0.5f, (float)lp["token_logprobs"]![3]!);
        Assert.Equal([0, 1, 2, 3, 4, 5], lp["text_offset"]!.AsArray().Select(t => (int)t!));
        Assert.Equal(-0.5f, (float)lp["top_logprobs"]![4]!["e"]!);
        Assert.Equal(3, (int)json["usage"]!["prompt_tokens"]!);

        (_, body, _) = await server.Client.PostAsync("/v1/completions", """{"prompt":[120,121],"stream":true,"stream_options":{"include_usage":true}}""");
        var chunks = Sse.Parse(body);
        Assert.Equal([120, 121], engine.Requests.Last().PromptTokenIds);
        Assert.Equal("def", string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["text"])));
        Assert.Equal(3, (int)chunks[^1]["usage"]!["completion_tokens"]!);

        (status, body, _) = await server.Client.PostAsync("/v1/completions", """{"prompt":["a","b"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("batched", (string?)HttpHelpers.OpenAiError(body)["message"]);
    }

    [Fact]
    public async Task ModelsListsTheServedModel()
    {
        var engine = new ScriptedEngine(_ => ["x"], maxModelLen: 99);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var json = HttpHelpers.Json(await server.Client.GetStringAsync("/v1/models"));
        Assert.Equal("list", (string?)json["object"]);
        Assert.Equal("test-model", (string?)json["data"]![0]!["id"]);
        Assert.Equal(99, (int)json["data"]![0]!["max_model_len"]!);
    }
}
