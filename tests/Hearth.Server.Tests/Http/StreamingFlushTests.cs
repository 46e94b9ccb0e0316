using System.Text;
using Hearth.Server.Tests.Doubles;

namespace Hearth.Server.Tests.Http;

/// <summary>Each delta must reach the client while the engine is still generating, not when the response ends.</summary>
public sealed class StreamingFlushTests
{
    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"stream":true}""", "\"content\":\"first\"")]
    [InlineData("/v1/completions", """{"prompt":"hi","stream":true}""", "\"text\":\"first\"")]
    [InlineData("/api/chat", """{"messages":[{"role":"user","content":"hi"}]}""", "\"content\":\"first\"")]
    [InlineData("/api/generate", """{"prompt":"hi"}""", "\"response\":\"first\"")]
    [InlineData("/generate", """{"prompt":"hi","stream":true}""", "hifirst")]
    public async Task TheFirstDeltaArrivesWhileTheEngineIsHeldBeforeTheSecond(string path, string json, string firstDelta)
    {
        var release = new TaskCompletionSource();
        var engine = new ScriptedEngine(_ => ["first", "second"]) { BeforeStep = step => step == 0 ? Task.CompletedTask : release.Task };
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var stream = await response.Content.ReadAsStreamAsync();
        var received = new StringBuilder();
        var buffer = new byte[1024];
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (!received.ToString().Contains(firstDelta, StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the stream ended before the first delta: " + received);
                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            Assert.DoesNotContain("second", received.ToString());
        }
        finally
        {
            release.TrySetResult();
        }
        received.Append(await new StreamReader(stream).ReadToEndAsync());
        Assert.Contains("second", received.ToString());
    }
}
