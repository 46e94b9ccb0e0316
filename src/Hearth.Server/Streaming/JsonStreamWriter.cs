using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Hearth.Server.Streaming;

/// <summary>
/// Writes a stream of JSON objects straight into the response pipe and flushes after each, so every delta
/// reaches the client as soon as the engine produces it. Response buffering is turned off at the start.
/// </summary>
internal sealed class JsonStreamWriter
{
    private static readonly byte[] SsePrefix = "data: "u8.ToArray();
    private static readonly byte[] SseSuffix = "\n\n"u8.ToArray();
    private static readonly byte[] NdjsonSuffix = "\n"u8.ToArray();
    private static readonly byte[] SseDone = "data: [DONE]\n\n"u8.ToArray();

    private readonly HttpResponse _response;
    private readonly StreamFraming _framing;
    private readonly Utf8JsonWriter _json;

    public JsonStreamWriter(HttpResponse response, StreamFraming framing)
    {
        _response = response;
        _framing = framing;
        _json = new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions { SkipValidation = true });
    }

    public StreamFraming Framing => _framing;

    public static void Begin(HttpResponse response, StreamFraming framing)
    {
        response.StatusCode = StatusCodes.Status200OK;
        if (framing == StreamFraming.ServerSentEvents)
        {
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            // Proxies such as nginx would otherwise hold deltas back.
            response.Headers["X-Accel-Buffering"] = "no";
        }
        else
        {
            response.ContentType = "application/x-ndjson";
        }
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    public async ValueTask WriteAsync<T>(T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var pipe = _response.BodyWriter;
        if (_framing == StreamFraming.ServerSentEvents) pipe.Write(SsePrefix);
        _json.Reset(pipe);
        JsonSerializer.Serialize(_json, value, typeInfo);
        _json.Flush();
        pipe.Write(_framing == StreamFraming.ServerSentEvents ? SseSuffix : NdjsonSuffix);
        await pipe.FlushAsync(cancellationToken);
    }

    /// <summary>OpenAI's end-of-stream marker; NDJSON streams end with the last object instead.</summary>
    public async ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        if (_framing != StreamFraming.ServerSentEvents) return;
        _response.BodyWriter.Write(SseDone);
        await _response.BodyWriter.FlushAsync(cancellationToken);
    }

    public static async Task WriteJsonAsync<T>(HttpResponse response, int statusCode, T value, JsonTypeInfo<T> typeInfo)
    {
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes);
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
