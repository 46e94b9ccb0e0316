using Hearth.Engine;
using Hearth.Server.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Hearth.Server.Tests.Http;

/// <summary>The real Kestrel app on a free loopback port, with an HttpClient pointed at it.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningServer(WebApplication app, HearthServerContext context, Uri address)
    {
        _app = app;
        Context = context;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HearthServerContext Context { get; }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public static async Task<RunningServer> StartAsync(ILlmEngine engine, IChatTextModel text, HearthServerOptions? options = null, SamplingDefaults? defaults = null)
    {
        var context = new HearthServerContext(engine, text, options ?? new HearthServerOptions { ServedModelName = "test-model" }, defaults);
        var app = HearthServerApp.Build(context, "http://127.0.0.1:0");
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        return new RunningServer(app, context, address);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopTimeout.Token);
        await _app.DisposeAsync();
    }
}
