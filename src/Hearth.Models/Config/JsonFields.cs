using System.Globalization;
using System.Text.Json;
using Hearth.Core;

namespace Hearth.Models.Config;

/// <summary>
/// Typed, optional reads of config JSON fields. A field set to null reads as absent, as transformers treats it;
/// a field of the wrong kind is a user-facing error naming the file and the key.
/// </summary>
internal readonly struct JsonFields
{
    private readonly JsonElement _object;
    private readonly string _source;

    public JsonFields(JsonElement obj, string source)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw new HearthException($"{source}: expected a JSON object, found {Describe(obj.ValueKind)}");
        _object = obj;
        _source = source;
    }

    public string Source => _source;

    public bool TryGet(string key, out JsonElement value)
    {
        if (_object.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public JsonFields? Object(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Wrong(key, "an object", value);
        return new JsonFields(value, _source);
    }

    public string? String(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.String) throw Wrong(key, "a string", value);
        return value.GetString();
    }

    public bool? Bool(string key)
    {
        if (!TryGet(key, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(key, "true or false", value),
        };
    }

    public double? Double(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number) throw Wrong(key, "a number", value);
        return value.GetDouble();
    }

    public int? Int(string key)
    {
        if (!TryGet(key, out var value)) return null;
        return ToInt(key, value);
    }

    public int RequiredInt(string key) =>
        Int(key) ?? throw new HearthException($"{_source}: missing required field '{key}'");

    /// <summary>An id field that may hold one integer or a list of them (eos_token_id).</summary>
    public IReadOnlyList<int>? IntOrList(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Array) return [ToInt(key, value)];
        var list = new List<int>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray()) list.Add(ToInt(key, item));
        return list;
    }

    public IReadOnlyList<string>? StringList(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Array) throw Wrong(key, "a list of strings", value);
        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Wrong(key, "a list of strings", value);
            list.Add(item.GetString()!);
        }
        return list;
    }

    private int ToInt(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt32(out int i)) return i;
            // Some exporters write integral values as 32768.0.
            double d = value.GetDouble();
            if (d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue) return (int)d;
        }
        throw Wrong(key, "an integer", value);
    }

    private HearthException Wrong(string key, string expected, JsonElement value)
    {
        string shown = value.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            ? Describe(value.ValueKind)
            : value.GetRawText();
        return new HearthException(string.Create(CultureInfo.InvariantCulture,
            $"{_source}: field '{key}' must be {expected}, found {shown}"));
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>Parses a whole document; invalid JSON becomes a one-line error naming the source.</summary>
    public static JsonDocument ParseDocument(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException ex)
        {
            throw new HearthException($"{source}: invalid JSON: {OneLine(ex.Message)}", ex);
        }
    }

    public static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
