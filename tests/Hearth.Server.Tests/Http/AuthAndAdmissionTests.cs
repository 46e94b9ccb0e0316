using System.Net;
using System.Net.Http.Headers;
using Hearth.Server.Hosting;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

public sealed class AuthAndAdmissionTests
{
    private const string Chat = """{"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task ApiKeyIsRequiredEverywhereButHealth()
    {
        var engine = new ScriptedEngine(_ => ["ok"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel(),
            new HearthServerOptions { ServedModelName = "test-model", ApiKey = "sekret" });
        var client = server.Client;

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        var (status, body, response) = await client.PostAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", (string?)HttpHelpers.OpenAiError(body)["code"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);
        var tags = await client.GetAsync("/api/tags");
        Assert.Equal(HttpStatusCode.Unauthorized, tags.StatusCode);
        Assert.NotNull((string?)HttpHelpers.Json(await tags.Content.ReadAsStringAsync())["error"]);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/v1/chat/completions", Chat)).Status);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sekret");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/chat/completions", Chat)).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/tags")).StatusCode);
        Assert.Single(engine.Requests);
    }

    [Fact]
    public async Task HealthIs503WhenTheEngineLoopIsDead()
    {
        var engine = new ScriptedEngine(_ => ["ok"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
        engine.IsAlive = false;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stream":true}""")]
    [InlineData("/v1/completions", """{"prompt":"hi"}""")]
    [InlineData("/api/chat", """{"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/api/generate", """{"prompt":"hi"}""")]
    [InlineData("/generate", """{"prompt":"hi"}""")]
    public async Task AFullEngineQueueIs429WithRetryAfterAndServingResumes(string path, string json)
    {
        var engine = new ScriptedEngine(_ => ["ok"]) { Overloaded = true };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var (status, _, response) = await server.Client.PostAsync(path, json);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(0, server.Context.Gate.NumInFlight);
        engine.Overloaded = false;
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync(path, json)).Status);
    }

    [Fact]
    public async Task TheServerCapsRequestsInFlightWith429()
    {
        var engine = new ScriptedEngine(_ => Enumerable.Repeat("z", 50).ToArray()) { StepDelay = TimeSpan.FromMilliseconds(20) };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel(),
            new HearthServerOptions { ServedModelName = "test-model", MaxInFlightRequests = 2 });
        var slow = Enumerable.Range(0, 2).Select(_ => server.Client.PostAsync("/v1/chat/completions", Chat)).ToArray();
        await WaitUntil(() => server.Context.Gate.NumInFlight == 2);
        var (status, body, response) = await server.Client.PostAsync("/v1/chat/completions", Chat);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("rate_limit_error", (string?)HttpHelpers.OpenAiError(body)["type"]);
        Assert.NotNull(response.Headers.RetryAfter);
        foreach (var r in await Task.WhenAll(slow)) Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(0, server.Context.Gate.NumInFlight);
    }

    [Fact]
    public async Task AClientThatDisconnectsMidStreamAbortsItsRequestAndFreesItsBlocks()
    {
        var engine = new ScriptedEngine(_ => Enumerable.Repeat("word ", 10_000).ToArray()) { StepDelay = TimeSpan.FromMilliseconds(2) };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        // No draining on dispose: the client really goes away instead of reading the stream to its end.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Address };
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions"))
        {
            request.Content = new StringContent("""{"messages":[{"role":"user","content":"hi"}],"stream":true}""", System.Text.Encoding.UTF8, "application/json");
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            var read = 0;
            while (read < 600) read += await stream.ReadAsync(buffer);
            Assert.True(engine.GetStats().NumFreeBlocks < engine.NumTotalBlocks);
        }
        await WaitUntil(() => engine.NumCancelled == 1);
        await WaitUntil(() => engine.GetStats().NumFreeBlocks == engine.NumTotalBlocks);
        await WaitUntil(() => server.Context.Gate.NumInFlight == 0);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not reached within 10 s");
            await Task.Delay(10);
        }
    }
}
