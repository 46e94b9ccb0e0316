using Hearth.Engine;

namespace Hearth.Server.Hosting;

/// <summary>Everything the HTTP layer serves from: the engine, the model's text side, defaults and options.</summary>
public sealed class HearthServerContext
{
    public HearthServerContext(ILlmEngine engine, IChatTextModel text, HearthServerOptions options, SamplingDefaults? defaults = null)
    {
        Engine = engine;
        Text = text;
        Options = options;
        Defaults = defaults ?? new SamplingDefaults();
        Gate = new AdmissionGate(options.MaxInFlightRequests);
        CreatedUnixSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    public ILlmEngine Engine { get; }

    public IChatTextModel Text { get; }

    public HearthServerOptions Options { get; }

    public SamplingDefaults Defaults { get; }

    public AdmissionGate Gate { get; }

    public long CreatedUnixSeconds { get; }

    public int MaxModelLen => Engine.MaxModelLen;
}
