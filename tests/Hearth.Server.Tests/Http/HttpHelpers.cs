using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Hearth.Server.Tests.Http;

internal static class HttpHelpers
{
    public static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(this HttpClient client, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await client.PostAsync(path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    public static JsonObject Json(string body) => JsonNode.Parse(body)!.AsObject();

    /// <summary>Checks the OpenAI error envelope: message, type, param and code all present.</summary>
    public static JsonObject OpenAiError(string body)
    {
        var error = Json(body)["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.False(string.IsNullOrWhiteSpace((string?)error["type"]));
        Assert.True(error.ContainsKey("param"));
        Assert.True(error.ContainsKey("code"));
        return error;
    }
}
