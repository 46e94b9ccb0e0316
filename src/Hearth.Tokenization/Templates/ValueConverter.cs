using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Turns request JSON into template values the way Python's json.loads would: integers stay int, numbers
/// written with a fraction or exponent become float, objects keep their key order.
/// </summary>
internal static class ValueConverter
{
    public static object? FromJson(JsonNode? node)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
                var dict = new PyDict();
                foreach (var kv in obj) dict.Set(kv.Key, FromJson(kv.Value));
                return dict;
            case JsonArray array:
                var list = new List<object?>(array.Count);
                foreach (var item in array) list.Add(FromJson(item));
                return list;
            case JsonValue value: return FromValue(value);
            default: throw new JinjaRuntimeError($"unsupported JSON node {node.GetType().Name}");
        }
    }

    private static object? FromValue(JsonValue value)
    {
        if (value.TryGetValue(out JsonElement element)) return FromElement(element);
        if (value.TryGetValue(out string? s)) return s;
        if (value.TryGetValue(out bool b)) return b;
        if (value.TryGetValue(out long l)) return l;
        if (value.TryGetValue(out int i)) return (long)i;
        if (value.TryGetValue(out double d)) return d;
        if (value.TryGetValue(out float f)) return (double)f;
        if (value.TryGetValue(out decimal m)) return (double)m;
        // Anything else (a char, a Guid, an enum): use its JSON text, which is what Python would have parsed.
        return FromElement(JsonDocument.Parse(value.ToJsonString()).RootElement);
    }

    private static object? FromElement(JsonElement element)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (element.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined: return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return element.GetString();
            case JsonValueKind.Number:
                string raw = element.GetRawText();
                bool isInteger = raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;
                if (isInteger && element.TryGetInt64(out long l)) return l;
                return element.GetDouble();
            case JsonValueKind.Array:
                var list = new List<object?>();
                foreach (var item in element.EnumerateArray()) list.Add(FromElement(item));
                return list;
            default:
                var dict = new PyDict();
                foreach (var property in element.EnumerateObject()) dict.Set(property.Name, FromElement(property.Value));
                return dict;
        }
    }
}
