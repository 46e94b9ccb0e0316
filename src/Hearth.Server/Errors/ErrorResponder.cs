using System.Text.Json;
using Hearth.Core;
using Hearth.Engine;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Errors;

/// <summary>Turns a failed request into the status and error body its API family expects, then lets the server go on.</summary>
internal static class ErrorResponder
{
    public static (int Status, string Message, string? Param, string? Code) Classify(Exception ex) => ex switch
    {
        ApiException api => (api.StatusCode, api.Message, api.Param, api.Code),
        EngineOverloadedException over => (StatusCodes.Status429TooManyRequests, over.Message, null, "server_overloaded"),
        RequestRejectedException rejected => (StatusCodes.Status400BadRequest, rejected.Message, null, null),
        HearthException h => (StatusCodes.Status400BadRequest, h.Message, null, null),
        BadHttpRequestException bad => (bad.StatusCode, bad.Message, null, null),
        JsonException json => (StatusCodes.Status400BadRequest, "invalid JSON: " + json.Message, null, null),
        _ => (StatusCodes.Status500InternalServerError, "internal server error: " + ex.GetType().Name, null, null),
    };

    public static async Task WriteAsync(HttpContext context, ApiStyle style, Exception ex, int retryAfterSeconds, ILogger logger)
    {
        var (status, message, param, code) = Classify(ex);
        message = message.ReplaceLineEndings(" ");
        if (status >= 500) logger.LogError(ex, "request {Path} failed", context.Request.Path);
        else logger.LogDebug("request {Path} refused with {Status}: {Message}", context.Request.Path, status, message);

        var response = context.Response;
        if (response.HasStarted)
        {
            await WriteInStreamAsync(context, style, status, message, param, code);
            return;
        }
        response.Clear();
        if (status == StatusCodes.Status429TooManyRequests) response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await WriteBodyAsync(response, style, status, message, param, code);
    }

    public static Task WriteBodyAsync(HttpResponse response, ApiStyle style, int status, string message, string? param, string? code) =>
        style == ApiStyle.Ollama
            ? JsonStreamWriter.WriteJsonAsync(response, status, new OllamaErrorDto(message), ServerJsonContext.Default.OllamaErrorDto)
            : JsonStreamWriter.WriteJsonAsync(response, status, Envelope(status, message, param, code), ServerJsonContext.Default.OpenAiErrorEnvelope);

    public static OpenAiErrorEnvelope Envelope(int status, string message, string? param, string? code) =>
        new(new OpenAiError(message, TypeFor(status), param, code ?? CodeFor(status)));

    private static string TypeFor(int status) => status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    private static string? CodeFor(int status) => status switch
    {
        401 => "invalid_api_key",
        _ => null,
    };

    /// <summary>Headers are gone: report the error as the stream's last object, as vLLM does, if the client is still there.</summary>
    private static async Task WriteInStreamAsync(HttpContext context, ApiStyle style, int status, string message, string? param, string? code)
    {
        if (context.RequestAborted.IsCancellationRequested) return;
        var framing = context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true
            ? StreamFraming.ServerSentEvents
            : StreamFraming.NewlineDelimitedJson;
        var writer = new JsonStreamWriter(context.Response, framing);
        try
        {
            if (style == ApiStyle.Ollama) await writer.WriteAsync(new OllamaErrorDto(message), ServerJsonContext.Default.OllamaErrorDto, context.RequestAborted);
            else await writer.WriteAsync(Envelope(status, message, param, code), ServerJsonContext.Default.OpenAiErrorEnvelope, context.RequestAborted);
            await writer.WriteDoneAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client left while we reported; nothing more to do.
        }
    }
}
