using Hearth.Engine;
using Hearth.Server.Hosting;
using Hearth.Testing;

namespace Hearth.Server.Tests.Parrot;

/// <summary>The parrot model served once, on the CPU, by the real engine behind the real Kestrel app.</summary>
public sealed class ParrotServer : IAsyncLifetime
{
    public const string ModelName = "parrot";

    private HearthServerHost? _host;

    public HttpClient Client { get; private set; } = null!;

    public ILlmEngine Engine => _host!.Engine;

    public IChatTextModel Text => _host!.Context.Text;

    public async Task InitializeAsync()
    {
        _host = HearthServerHost.Load(new ServeSettings
        {
            ModelDirectory = RepoPaths.Parrot,
            Port = 0,
            ServedModelName = ModelName,
            MaxModelLen = 2048,
            MaxNumSeqs = 16,
            MaxQueue = 64,
        });
        await _host.App.StartAsync();
        Client = new HttpClient { BaseAddress = _host.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_host is not null) await _host.DisposeAsync();
    }
}
