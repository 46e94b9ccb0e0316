using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.Ollama;

/// <summary>GET /api/tags, POST /api/show, GET /api/ps, GET /api/version: what Ollama clients ask before chatting.</summary>
internal static class OllamaInfoHandler
{
    public static Task TagsAsync(HttpContext http, HearthServerContext context)
    {
        var o = context.Options;
        var tag = new OllamaTagDto(o.ServedModelName, o.ServedModelName, Time(o.ModelModifiedAt), o.ModelSizeBytes, Digest(o), Details(o));
        return JsonStreamWriter.WriteJsonAsync(http.Response, 200, new OllamaTagsDto([tag]), ServerJsonContext.Default.OllamaTagsDto);
    }

    public static async Task ShowAsync(HttpContext http, HearthServerContext context)
    {
        var body = await RequestBody.ReadAsync(http);
        // Ollama's /api/show takes "model" (older clients send "name").
        if (body["model"] is null && body["name"] is { } name) body["model"] = name.DeepClone();
        RequestBody.CheckModel(body, context);
        var o = context.Options;
        var info = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["general.architecture"] = o.ModelFamily,
            [o.ModelFamily + ".context_length"] = context.MaxModelLen,
            ["tokenizer.vocab_size"] = context.Text.VocabSize,
        };
        var parameters = new StringBuilder();
        if (context.Defaults.Temperature is { } t) parameters.Append(CultureInfo.InvariantCulture, $"temperature {t}\n");
        if (context.Defaults.TopK is { } k) parameters.Append(CultureInfo.InvariantCulture, $"top_k {k}\n");
        if (context.Defaults.TopP is { } p) parameters.Append(CultureInfo.InvariantCulture, $"top_p {p}\n");
        var show = new OllamaShowDto(
            Modelfile: $"FROM {o.ServedModelName}\n",
            Parameters: parameters.ToString(),
            Template: "{{ chat template from tokenizer_config.json }}",
            Details(o), info, ["completion", "tools", "thinking"], Time(o.ModelModifiedAt));
        await JsonStreamWriter.WriteJsonAsync(http.Response, 200, show, ServerJsonContext.Default.OllamaShowDto);
    }

    public static Task PsAsync(HttpContext http, HearthServerContext context)
    {
        var o = context.Options;
        // The model stays loaded for the server's lifetime, so it never expires.
        var model = new OllamaPsModelDto(o.ServedModelName, o.ServedModelName, o.ModelSizeBytes, Digest(o), Details(o),
            Time(DateTimeOffset.MaxValue), 0, context.MaxModelLen);
        return JsonStreamWriter.WriteJsonAsync(http.Response, 200, new OllamaPsDto([model]), ServerJsonContext.Default.OllamaPsDto);
    }

    public static Task VersionAsync(HttpContext http, HearthServerContext context)
    {
        var version = typeof(OllamaInfoHandler).Assembly.GetName().Version ?? new Version(0, 1, 0);
        return JsonStreamWriter.WriteJsonAsync(http.Response, 200, new OllamaVersionDto($"{version.Major}.{version.Minor}.{version.Build}"),
            ServerJsonContext.Default.OllamaVersionDto);
    }

    private static OllamaDetailsDto Details(HearthServerOptions o) =>
        new("safetensors", o.ModelFamily, [o.ModelFamily], "", "bf16");

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A stable id for the served model (Ollama's digest is a blob hash; ours hashes name and size).</summary>
    private static string Digest(HearthServerOptions o) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{o.ServedModelName}:{o.ModelSizeBytes}")));
}
