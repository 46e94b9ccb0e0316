using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Server.Errors;

namespace Hearth.Server.Json;

/// <summary>
/// Typed reads of request fields from a parsed JSON object. A field of the wrong type is a 400 naming the
/// field, so clients learn what to fix instead of getting a generic deserialization failure.
/// </summary>
internal static class JsonFields
{
    public static JsonObject ParseObject(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty) throw ApiException.BadRequest("the request body is empty; expected a JSON object");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest("invalid JSON in the request body: " + ex.Message.ReplaceLineEndings(" "));
        }
        return node as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }

    public static bool Has(JsonObject obj, string name) => obj[name] is not null;

    public static string? String(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw WrongType(name, "a string");
    }

    public static double? Number(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number) return v.GetValue<double>();
        throw WrongType(name, "a number");
    }

    public static float? Float(JsonObject obj, string name) => Number(obj, name) is { } d ? (float)d : null;

    public static int? Int(JsonObject obj, string name)
    {
        var d = Number(obj, name);
        if (d is null) return null;
        if (d != Math.Floor(d.Value) || d < int.MinValue || d > int.MaxValue) throw WrongType(name, "an integer");
        return (int)d.Value;
    }

    public static long? Long(JsonObject obj, string name)
    {
        var d = Number(obj, name);
        if (d is null) return null;
        if (d != Math.Floor(d.Value) || d < long.MinValue || d > long.MaxValue) throw WrongType(name, "an integer");
        return (long)d.Value;
    }

    public static bool? Bool(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        if (node is JsonValue v)
        {
            var kind = v.GetValueKind();
            if (kind == JsonValueKind.True) return true;
            if (kind == JsonValueKind.False) return false;
        }
        throw WrongType(name, "a boolean");
    }

    public static JsonArray? Array(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        return node as JsonArray ?? throw WrongType(name, "an array");
    }

    public static JsonObject? Object(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        return node as JsonObject ?? throw WrongType(name, "an object");
    }

    /// <summary>A string or a list of strings (OpenAI's stop); null when absent.</summary>
    public static List<string>? StringOrList(JsonObject obj, string name)
    {
        var node = obj[name];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return [v.GetValue<string>()];
        if (node is not JsonArray array) throw WrongType(name, "a string or an array of strings");
        var list = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is JsonValue s && s.GetValueKind() == JsonValueKind.String) list.Add(s.GetValue<string>());
            else throw WrongType(name, "a string or an array of strings");
        }
        return list;
    }

    /// <summary>An array of integers in [0, limit), e.g. token ids.</summary>
    public static List<int> IntList(JsonArray array, string name, int limit)
    {
        var list = new List<int>(array.Count);
        foreach (var item in array)
        {
            if (item is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) throw WrongType(name, "an array of integers");
            var d = v.GetValue<double>();
            if (d != Math.Floor(d)) throw WrongType(name, "an array of integers");
            if (d < 0 || d >= limit) throw ApiException.BadRequest($"token id {d} in '{name}' is outside the vocabulary [0, {limit})", name);
            list.Add((int)d);
        }
        return list;
    }

    public static bool IsString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

    public static ApiException WrongType(string name, string expected) =>
        ApiException.BadRequest($"'{name}' must be {expected}", name);
}
