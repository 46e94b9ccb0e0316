using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Hearth.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.OpenAi;

/// <summary>GET /v1/models: the one served model.</summary>
internal static class ModelsHandler
{
    public static Task ListAsync(HttpContext http, HearthServerContext context)
    {
        var name = context.Options.ServedModelName;
        var card = new ModelCardDto(name, "model", context.CreatedUnixSeconds, "hearth", name, context.MaxModelLen);
        return JsonStreamWriter.WriteJsonAsync(http.Response, 200, new ModelListDto("list", [card]), ServerJsonContext.Default.ModelListDto);
    }
}
