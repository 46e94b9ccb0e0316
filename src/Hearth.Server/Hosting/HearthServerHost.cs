using Hearth.Backends;
using Hearth.Engine;
using Hearth.Engine.Loading;
using Hearth.Server.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Hosting;

/// <summary>
/// One served model: backend, loaded weights, engine thread and Kestrel app, built from <see cref="ServeSettings"/>.
/// Disposing stops the app first, then the engine, then frees the model and the backend, in that order, so no
/// request is left reading from freed memory.
/// </summary>
public sealed class HearthServerHost : IAsyncDisposable
{
    private readonly IBackend _backend;
    private readonly LoadedModel _model;
    private readonly LlmEngine _engine;
    private bool _disposed;

    private HearthServerHost(IBackend backend, LoadedModel model, LlmEngine engine, WebApplication app, HearthServerContext context)
    {
        _backend = backend;
        _model = model;
        _engine = engine;
        App = app;
        Context = context;
    }

    public WebApplication App { get; }

    public HearthServerContext Context { get; }

    public ILlmEngine Engine => _engine;

    /// <summary>Where the app listens, once started (port 0 resolves to the port Kestrel picked).</summary>
    public Uri Address => new(App.Urls.First());

    /// <summary>Loads the model and builds the app; call App.StartAsync or App.RunAsync to serve.</summary>
    public static HearthServerHost Load(ServeSettings settings, LogLevel minimumLogLevel = LogLevel.Warning,
        Action<Microsoft.AspNetCore.Hosting.IWebHostBuilder>? configureWebHost = null)
    {
        settings.Validate();
        IBackend backend = BackendFactory.Create(settings.Device, out string? warning, progress: line => Console.Error.WriteLine("hearth: " + line));
        if (warning is not null) Console.Error.WriteLine("hearth: warning: " + warning);
        LoadedModel? model = null;
        try
        {
            var engineOptions = new EngineOptions
            {
                MaxNumSeqs = settings.MaxNumSeqs,
                MaxQueue = settings.MaxQueue,
                MaxModelLen = settings.MaxModelLen,
                KvCacheDType = Hearth.Engine.Cache.KvCacheDTypes.Parse(settings.KvCacheDType),
            };
            model = ModelLoader.Load(settings.ModelDirectory, backend, engineOptions.MaxNumBatchedTokens, maxLogitRows: settings.MaxNumSeqs);
            var tokenizer = model.RequireTokenizer();
            engineOptions = BackendFactory.WithKvCacheBudget(engineOptions, backend, model.Config, settings.GpuMemoryUtilization);
            var engine = LlmEngine.Start(model, backend, engineOptions);
            var options = new HearthServerOptions
            {
                ServedModelName = settings.ResolvedModelName,
                ApiKey = settings.ApiKey,
                MaxInFlightRequests = settings.MaxNumSeqs + settings.MaxQueue,
                ModelFamily = string.IsNullOrEmpty(model.Config.ModelType) ? "qwen3" : model.Config.ModelType,
                ModelSizeBytes = WeightBytes(settings.ModelDirectory),
                ModelModifiedAt = File.GetLastWriteTimeUtc(File.Exists(settings.ModelDirectory) ? settings.ModelDirectory : Path.Combine(settings.ModelDirectory, "config.json")),
            };
            var context = new HearthServerContext(engine, new TokenizerChatTextModel(tokenizer), options, Defaults(model));
            var app = HearthServerApp.Build(context, settings.Url, minimumLogLevel, configureWebHost);
            return new HearthServerHost(backend, model, engine, app, context);
        }
        catch
        {
            model?.Dispose();
            backend.Dispose();
            throw;
        }
    }

    // HEARTH_TRACE_SHUTDOWN=1 shows how far a stop got, for a stop that hangs.
    private static void Trace(string step)
    {
        if (Environment.GetEnvironmentVariable("HEARTH_TRACE_SHUTDOWN") == "1") Console.Error.WriteLine("hearth: " + step);
    }

    private static SamplingDefaults Defaults(LoadedModel model)
    {
        var g = model.Generation;
        return new SamplingDefaults
        {
            // do_sample=false in generation_config means greedy, as transformers reads it.
            Temperature = g.DoSample == false ? 0f : (float?)g.Temperature,
            TopK = g.TopK,
            TopP = (float?)g.TopP,
            MinP = (float?)g.MinP,
            RepetitionPenalty = (float?)g.RepetitionPenalty,
            MaxNewTokens = g.MaxNewTokens,
        };
    }

    private static long WeightBytes(string path) => File.Exists(path)
        ? new FileInfo(path).Length // a single .gguf file
        : Directory.EnumerateFiles(path, "*.safetensors").Sum(file => new FileInfo(file).Length) + Directory.EnumerateFiles(path, "*.gguf").Sum(file => new FileInfo(file).Length);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        using (var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await App.StopAsync(stopTimeout.Token);
            }
            catch (InvalidOperationException)
            {
                // Never started.
            }
        }
        await App.DisposeAsync();
        Trace("app stopped");
        await _engine.DisposeAsync();
        Trace("engine stopped");
        _model.Dispose();
        _backend.Dispose();
        Trace("model and backend freed");
    }
}
