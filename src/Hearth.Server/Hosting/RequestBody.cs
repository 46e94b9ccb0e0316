using System.Text.Json.Nodes;
using Hearth.Server.Errors;
using Hearth.Server.Json;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Hosting;

/// <summary>Reads a JSON request body and checks the "model" it names against the served model.</summary>
internal static class RequestBody
{
    public static async Task<JsonObject> ReadAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        return JsonFields.ParseObject(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>An absent model means the served one; any other name is a 404, as OpenAI and vLLM answer.</summary>
    public static string CheckModel(JsonObject body, HearthServerContext context)
    {
        var model = JsonFields.String(body, "model");
        if (model is null || model.Length == 0) return context.Options.ServedModelName;
        // Ollama clients often append the default tag.
        if (model == context.Options.ServedModelName || model == context.Options.ServedModelName + ":latest") return context.Options.ServedModelName;
        throw ApiException.ModelNotFound(model);
    }
}
