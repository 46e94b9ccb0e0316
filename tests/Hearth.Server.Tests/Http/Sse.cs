using System.Text.Json.Nodes;

namespace Hearth.Server.Tests.Http;

/// <summary>Reads an SSE body strictly: every event is "data: …" followed by a blank line, the last is [DONE].</summary>
internal static class Sse
{
    public static List<JsonObject> Parse(string body)
    {
        Assert.EndsWith("data: [DONE]\n\n", body);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var objects = new List<JsonObject>();
        foreach (var e in events[..^1])
        {
            Assert.StartsWith("data: ", e);
            Assert.DoesNotContain('\n', e);
            objects.Add(JsonNode.Parse(e["data: ".Length..])!.AsObject());
        }
        return objects;
    }

    public static List<JsonObject> ParseNdjson(string body)
    {
        Assert.EndsWith("\n", body);
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
    }
}
