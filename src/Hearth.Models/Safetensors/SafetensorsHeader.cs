using System.Globalization;
using System.Text.Json;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>Parses and validates a safetensors JSON header against the size of the data section that follows it.</summary>
internal static class SafetensorsHeader
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation refuses headers above 100 MB; so do we, before allocating for one.</summary>
    public const long MaxHeaderSizeBytes = 100_000_000;

    public static (Dictionary<string, SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> json, long dataSectionBytes, string file)
    {
        JsonDocument document;
        try
        {
            // Headers are small; the copy lets the parser reject trailing garbage after the object.
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            throw Corrupt(file, "header is not valid JSON: " + ex.Message.ReplaceLineEndings(" "));
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Corrupt(file, "header is not a JSON object");
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, file);
                    continue;
                }
                var info = ReadTensor(property.Name, property.Value, dataSectionBytes, file);
                if (!tensors.TryAdd(info.Name, info)) throw Corrupt(file, $"tensor '{info.Name}' appears twice in the header");
            }
            CheckNoOverlap(tensors.Values, file);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object) throw Corrupt(file, "__metadata__ is not an object");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Corrupt(file, $"__metadata__ value '{entry.Name}' is not a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, long dataSectionBytes, string file)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Corrupt(file, $"tensor '{name}' is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Corrupt(file, $"tensor '{name}' has no dtype string");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype))
            throw Corrupt(file, $"tensor '{name}' has unknown dtype '{dtypeName}' (supported: {SafetensorsDTypes.Supported})");

        var dims = ReadLongs(value, "shape", name, file, maxCount: int.MaxValue);
        if (dims.Length > 4)
            throw Corrupt(file, $"tensor '{name}' has rank {dims.Length}; at most 4 dimensions are supported");
        long numElements = 1;
        foreach (long d in dims)
        {
            if (d < 0 || d > int.MaxValue) throw Corrupt(file, $"tensor '{name}' has dimension {d} out of range");
            numElements = checked(numElements * d);
        }
        var offsets = ReadLongs(value, "data_offsets", name, file, maxCount: 2);
        if (offsets.Length != 2) throw Corrupt(file, $"tensor '{name}' data_offsets must be [begin, end]");
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin || end > dataSectionBytes)
            throw Corrupt(file, string.Create(CultureInfo.InvariantCulture,
                $"tensor '{name}' data_offsets [{begin}, {end}] lie outside the {dataSectionBytes}-byte data section (file truncated?)"));
        long expectedBytes = checked(numElements * dtype.ElementSizeBytes());
        if (end - begin != expectedBytes)
            throw Corrupt(file, string.Create(CultureInfo.InvariantCulture,
                $"tensor '{name}' spans {end - begin} bytes but {dtypeName}[{string.Join(", ", dims)}] needs {expectedBytes}"));
        return new SafetensorsTensorInfo(name, dtype, Shape.FromSpan(dims), begin, end);
    }

    private static long[] ReadLongs(JsonElement tensor, string key, string name, string file, int maxCount)
    {
        if (!tensor.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Corrupt(file, $"tensor '{name}' has no '{key}' list");
        int count = array.GetArrayLength();
        if (count > maxCount) throw Corrupt(file, $"tensor '{name}' has {count} entries in '{key}'");
        var result = new long[count];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i]))
                throw Corrupt(file, $"tensor '{name}' has a non-integer in '{key}'");
            i++;
        }
        return result;
    }

    private static void CheckNoOverlap(IEnumerable<SafetensorsTensorInfo> tensors, string file)
    {
        var byOffset = tensors.Where(t => t.SizeBytes > 0).OrderBy(t => t.DataBegin).ToArray();
        for (int i = 1; i < byOffset.Length; i++)
        {
            var previous = byOffset[i - 1];
            var current = byOffset[i];
            if (current.DataBegin < previous.DataEnd)
                throw Corrupt(file, string.Create(CultureInfo.InvariantCulture,
                    $"tensors '{previous.Name}' [{previous.DataBegin}, {previous.DataEnd}] and '{current.Name}' [{current.DataBegin}, {current.DataEnd}] overlap"));
        }
    }

    public static HearthException Corrupt(string file, string what) => new($"{file}: corrupt safetensors file: {what}");
}
