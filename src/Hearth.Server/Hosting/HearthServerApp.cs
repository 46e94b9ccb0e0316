using System.Security.Cryptography;
using System.Text;
using Hearth.Server.Api.Ollama;
using Hearth.Server.Api.OpenAi;
using Hearth.Server.Api.Vllm;
using Hearth.Server.Errors;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Hosting;

/// <summary>Builds the Kestrel app that serves one model over the OpenAI, Ollama and vLLM APIs.</summary>
public static class HearthServerApp
{
    /// <summary>An app listening on <paramref name="urls"/> (e.g. "http://127.0.0.1:8000"; port 0 picks a free one).</summary>
    /// <param name="configureWebHost">Last say over the web host, e.g. tests swap Kestrel for an in-memory TestServer.</param>
    public static WebApplication Build(HearthServerContext context, string urls, LogLevel minimumLogLevel = LogLevel.Warning,
        Action<IWebHostBuilder>? configureWebHost = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(minimumLogLevel);
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Bounds what one request can make the server buffer; prompts beyond this cannot fit a context anyway.
            kestrel.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
        });
        builder.Services.AddSingleton(context);
        configureWebHost?.Invoke(builder.WebHost);
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hearth.Server");

        app.Use(async (http, next) =>
        {
            if (context.Options.ApiKey is { } key && http.Request.Path != "/health" && !IsAuthorized(http.Request, key))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                await ErrorResponder.WriteBodyAsync(http.Response, StyleOf(http.Request.Path), StatusCodes.Status401Unauthorized,
                    "missing or invalid API key; send 'Authorization: Bearer KEY'", null, null);
                return;
            }
            await next(http);
        });

        app.MapGet("/health", http => Health(http, context));
        app.MapGet("/", http => http.Response.WriteAsync("Hearth is running"));

        app.MapGet("/v1/models", Wrap(ApiStyle.OpenAi, ModelsHandler.ListAsync));
        app.MapPost("/v1/chat/completions", Wrap(ApiStyle.OpenAi, ChatCompletionsHandler.HandleAsync));
        app.MapPost("/v1/completions", Wrap(ApiStyle.OpenAi, CompletionsHandler.HandleAsync));

        app.MapPost("/api/chat", Wrap(ApiStyle.Ollama, OllamaChatHandler.HandleAsync));
        app.MapPost("/api/generate", Wrap(ApiStyle.Ollama, OllamaGenerateHandler.HandleAsync));
        app.MapGet("/api/tags", Wrap(ApiStyle.Ollama, OllamaInfoHandler.TagsAsync));
        app.MapPost("/api/show", Wrap(ApiStyle.Ollama, OllamaInfoHandler.ShowAsync));
        app.MapGet("/api/ps", Wrap(ApiStyle.Ollama, OllamaInfoHandler.PsAsync));
        app.MapGet("/api/version", Wrap(ApiStyle.Ollama, OllamaInfoHandler.VersionAsync));

        app.MapPost("/generate", Wrap(ApiStyle.OpenAi, VllmHandlers.GenerateAsync));
        app.MapPost("/tokenize", Wrap(ApiStyle.OpenAi, VllmHandlers.TokenizeAsync));
        app.MapPost("/detokenize", Wrap(ApiStyle.OpenAi, VllmHandlers.DetokenizeAsync));

        app.MapFallback(http => ErrorResponder.WriteBodyAsync(http.Response, StyleOf(http.Request.Path), StatusCodes.Status404NotFound,
            $"no route for {http.Request.Method} {http.Request.Path}", null, null));
        return app;

        RequestDelegate Wrap(ApiStyle style, Func<HttpContext, HearthServerContext, Task> handler) => async http =>
        {
            try
            {
                await handler(http, context);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away; the engine request was aborted through the same token.
            }
            catch (Exception ex)
            {
                await ErrorResponder.WriteAsync(http, style, ex, context.Options.RetryAfterSeconds, logger);
            }
        };
    }

    private static Task Health(HttpContext http, HearthServerContext context)
    {
        var alive = context.Engine.GetStats().IsAlive;
        return JsonStreamWriter.WriteJsonAsync(http.Response, alive ? 200 : 503, new HealthDto(alive ? "ok" : "engine not running"),
            ServerJsonContext.Default.HealthDto);
    }

    private static ApiStyle StyleOf(PathString path) => path.StartsWithSegments("/api") ? ApiStyle.Ollama : ApiStyle.OpenAi;

    private static bool IsAuthorized(HttpRequest request, string key)
    {
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(key));
    }
}
