using System.Net;
using System.Net.Http.Headers;
using Hearth.Server.Hosting;
using Hearth.Server.Tests.Http;
using Hearth.Testing;

namespace Hearth.Server.Tests.Parrot;

/// <summary>The real engine's bounded queue and the API key, through a host configured as `hearth serve` would be.</summary>
public sealed class ParrotAdmissionTests
{
    [Fact]
    public async Task AFullQueueAnswers429WithRetryAfterAndTheServerKeepsServing()
    {
        await using var host = HearthServerHost.Load(new ServeSettings
        {
            ModelDirectory = RepoPaths.Parrot, Port = 0, ServedModelName = ParrotServer.ModelName,
            MaxModelLen = 1024, MaxNumSeqs = 1, MaxQueue = 1,
        });
        await host.App.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Address };
        var body = ParrotCases.ChatRequest(ParrotCases.Get("poem"), stream: false);
        body["ignore_eos"] = true;
        body["max_tokens"] = 120;
        var json = body.ToJsonString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.PostAsync("/v1/chat/completions", json)));
        var refused = responses.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.NotNull(r.Response.Headers.RetryAfter));
        Assert.All(refused, r => Assert.Equal("rate_limit_error", (string?)HttpHelpers.OpenAiError(r.Body)["type"]));
        Assert.Contains(responses, r => r.Status == HttpStatusCode.OK);
        Assert.All(responses, r => Assert.True(r.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.Body));

        var again = await client.PostAsync("/v1/chat/completions", ParrotCases.ChatRequest(ParrotCases.Get("capital"), stream: false).ToJsonString());
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Contains("Paris", again.Body);
    }

    [Fact]
    public async Task WithAnApiKeyOnlyHealthIsOpen()
    {
        await using var host = HearthServerHost.Load(new ServeSettings
        {
            ModelDirectory = RepoPaths.Parrot, Port = 0, ServedModelName = ParrotServer.ModelName, MaxModelLen = 1024, ApiKey = "k3y",
        });
        await host.App.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Address };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);
        var chat = ParrotCases.ChatRequest(ParrotCases.Get("capital"), stream: false).ToJsonString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/v1/chat/completions", chat)).Status);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "k3y");
        var ok = await client.PostAsync("/v1/chat/completions", chat);
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Contains("Paris", ok.Body);
    }

    [Fact]
    public async Task HealthIsOkAndModelsNameTheFolderByDefault()
    {
        await using var host = HearthServerHost.Load(new ServeSettings { ModelDirectory = RepoPaths.Parrot, Port = 0, MaxModelLen = 1024 });
        await host.App.StartAsync();
        using var client = new HttpClient { BaseAddress = host.Address };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        var models = HttpHelpers.Json(await client.GetStringAsync("/v1/models"));
        Assert.Equal("parrot-qwen3", (string?)models["data"]![0]!["id"]);
        Assert.Equal(1024, (int)models["data"]![0]!["max_model_len"]!);
    }
}
