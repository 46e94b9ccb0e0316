using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>
/// Writes safetensors files the way the reference implementation lays them out: compact JSON header with
/// <c>__metadata__</c> first, padded with spaces to a multiple of 8 bytes, tensors ordered by descending
/// element size then name so every tensor stays aligned to its element size.
/// </summary>
public static class SafetensorsWriter
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private static readonly JsonWriterOptions CompactJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = Order(entries);
        byte[] header = BuildHeader(ordered, metadata);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> sizePrefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(sizePrefix, (ulong)header.Length);
        stream.Write(sizePrefix);
        stream.Write(header);
        foreach (var entry in ordered) stream.Write(entry.Data.Span);
    }

    /// <summary>
    /// Splits the entries over <c>model-0000i-of-0000n.safetensors</c> files of at most
    /// <paramref name="maxShardSizeBytes"/> data each (a larger tensor gets a shard of its own) and writes
    /// <c>model.safetensors.index.json</c> mapping every tensor to its file. Returns the shard file names.
    /// </summary>
    public static IReadOnlyList<string> WriteSharded(string directory, IEnumerable<SafetensorsEntry> entries, long maxShardSizeBytes,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardSizeBytes);
        var shards = new List<List<SafetensorsEntry>>();
        long currentBytes = 0;
        foreach (var entry in entries)
        {
            if (shards.Count == 0 || (currentBytes + entry.Data.Length > maxShardSizeBytes && shards[^1].Count > 0))
            {
                shards.Add([]);
                currentBytes = 0;
            }
            shards[^1].Add(entry);
            currentBytes += entry.Data.Length;
        }
        if (shards.Count == 0) shards.Add([]);

        Directory.CreateDirectory(directory);
        var names = new List<string>(shards.Count);
        var weightMap = new List<(string Tensor, string File)>();
        long totalBytes = 0;
        for (int i = 0; i < shards.Count; i++)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors");
            Write(Path.Combine(directory, name), shards[i], metadata);
            names.Add(name);
            foreach (var entry in shards[i])
            {
                weightMap.Add((entry.Name, name));
                totalBytes += entry.Data.Length;
            }
        }
        WriteIndex(Path.Combine(directory, IndexFileName), weightMap, totalBytes);
        return names;
    }

    private static void WriteIndex(string path, List<(string Tensor, string File)> weightMap, long totalBytes)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, CompactJson with { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalBytes);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (tensor, file) in weightMap.OrderBy(w => w.Tensor, StringComparer.Ordinal))
                json.WriteString(tensor, file);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        File.WriteAllBytes(path, buffer.WrittenSpan.ToArray());
    }

    private static List<SafetensorsEntry> Order(IEnumerable<SafetensorsEntry> entries)
    {
        var list = entries.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in list)
        {
            if (entry.Name == SafetensorsHeader.MetadataKey) throw new ArgumentException("'__metadata__' is reserved");
            if (!seen.Add(entry.Name)) throw new ArgumentException($"tensor '{entry.Name}' is given twice");
            long expected = checked(entry.NumElements * entry.DType.ElementSizeBytes());
            if (entry.Data.Length != expected)
                throw new ArgumentException($"tensor '{entry.Name}' has {entry.Data.Length} bytes, its dtype and shape need {expected}");
        }
        return list.OrderByDescending(e => e.DType.ElementSizeBytes()).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    private static byte[] BuildHeader(List<SafetensorsEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, CompactJson))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var entry in ordered)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (long d in entry.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + entry.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += entry.Data.Length;
            }
            json.WriteEndObject();
        }
        int length = buffer.WrittenCount;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }
}
