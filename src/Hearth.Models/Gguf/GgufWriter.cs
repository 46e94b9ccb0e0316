using System.Buffers.Binary;
using System.Text;
using Hearth.Backends.Gguf;

namespace Hearth.Models.Gguf;

/// <summary>
/// Writes a GGUF v3 file: metadata in the order set, then tensor infos, then each tensor's data at an aligned
/// offset. Tensor data is produced by a callback at write time, so a converter streams one tensor at a time.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];

    public GgufWriter(int alignmentBytes = GgufFile.DefaultAlignmentBytes)
    {
        if (alignmentBytes <= 0 || (alignmentBytes & (alignmentBytes - 1)) != 0)
            throw new ArgumentException($"alignment {alignmentBytes} is not a power of two");
        AlignmentBytes = alignmentBytes;
        if (alignmentBytes != GgufFile.DefaultAlignmentBytes) Set(GgufFile.AlignmentKey, GgufValue.UInt32((uint)alignmentBytes));
    }

    public int AlignmentBytes { get; }

    /// <summary>Sets (or replaces) a metadata entry.</summary>
    public GgufWriter Set(string key, GgufValue value)
    {
        int index = _metadata.FindIndex(kv => kv.Key == key);
        if (index >= 0) _metadata[index] = new(key, value);
        else _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a tensor of row-major <paramref name="shape"/> whose bytes <paramref name="writeData"/> writes.</summary>
    public void AddTensor(string name, GgufTensorType type, long[] shape, Action<Stream> writeData)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice");
        var dims = shape.Reverse().ToArray();
        long sizeBytes = new GgufTensorInfo(name, type, dims, 0).SizeBytes;
        _tensors.Add(new PendingTensor(name, type, dims, sizeBytes, writeData));
    }

    public void AddTensor(string name, GgufTensorType type, long[] shape, ReadOnlyMemory<byte> data) =>
        AddTensor(name, type, shape, stream => stream.Write(data.Span));

    /// <summary>Writes the file, through a temporary beside it so a failed write leaves no half file.</summary>
    public void Write(string path)
    {
        string temporary = path + ".partial";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                Write(stream);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    public void Write(Stream stream)
    {
        var header = new MemoryStream();
        WriteU32(header, 0x46554747);
        WriteU32(header, 3);
        WriteU64(header, (ulong)_tensors.Count);
        WriteU64(header, (ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(header, key);
            WriteU32(header, (uint)value.Type);
            WriteValue(header, value);
        }
        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            offsets[i] = offset;
            WriteString(header, t.Name);
            WriteU32(header, (uint)t.Dimensions.Length);
            foreach (long d in t.Dimensions) WriteU64(header, (ulong)d);
            WriteU32(header, (uint)t.Type);
            WriteU64(header, (ulong)offset);
            offset = GgufFile.AlignUp(offset + t.SizeBytes, AlignmentBytes);
        }
        header.Position = 0;
        header.CopyTo(stream);
        Pad(stream, GgufFile.AlignUp(header.Length, AlignmentBytes) - header.Length);
        long dataStart = stream.Position;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            long before = stream.Position;
            t.WriteData(stream);
            long written = stream.Position - before;
            if (written != t.SizeBytes)
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {written} bytes, its {t.Type} shape needs {t.SizeBytes}");
            long end = i + 1 < _tensors.Count ? offsets[i + 1] : GgufFile.AlignUp(offsets[i] + t.SizeBytes, AlignmentBytes);
            Pad(stream, dataStart + end - stream.Position);
        }
    }

    private static void Pad(Stream stream, long count)
    {
        for (long i = 0; i < count; i++) stream.WriteByte(0);
    }

    private static void WriteValue(Stream s, GgufValue value)
    {
        switch (value.Value)
        {
            case byte v: s.WriteByte(v); break;
            case sbyte v: s.WriteByte((byte)v); break;
            case ushort v: WriteU16(s, v); break;
            case short v: WriteU16(s, (ushort)v); break;
            case uint v: WriteU32(s, v); break;
            case int v: WriteU32(s, (uint)v); break;
            case float v: WriteU32(s, BitConverter.SingleToUInt32Bits(v)); break;
            case bool v: s.WriteByte(v ? (byte)1 : (byte)0); break;
            case string v: WriteString(s, v); break;
            case ulong v: WriteU64(s, v); break;
            case long v: WriteU64(s, (ulong)v); break;
            case double v: WriteU64(s, BitConverter.DoubleToUInt64Bits(v)); break;
            case Array a:
                WriteU32(s, (uint)value.ElementType!.Value);
                WriteU64(s, (ulong)a.Length);
                foreach (object? element in a)
                {
                    if (element is GgufValue nested) WriteValue(s, nested);
                    else WriteValue(s, new GgufValue(value.ElementType.Value, element!));
                }
                break;
            default: throw new ArgumentException($"cannot write a metadata value of .NET type {value.Value.GetType().Name}");
        }
    }

    private static void WriteString(Stream s, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteU64(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteU16(Stream s, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteU64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }

    private sealed record PendingTensor(string Name, GgufTensorType Type, long[] Dimensions, long SizeBytes, Action<Stream> WriteData);
}
