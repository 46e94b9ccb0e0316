using System.Buffers.Binary;
using System.Text;
using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Models.Gguf;

/// <summary>
/// Parses a GGUF v3 header (magic, version, metadata, tensor infos) from mapped memory, checking every length
/// against the file so a truncated or corrupt file gives a one-line error instead of a wild read.
/// </summary>
internal unsafe ref struct GgufHeaderReader
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    // Bounds on counts so a corrupt header cannot make us allocate without limit.
    private const long MaxCount = 1L << 28;

    private readonly byte* _base;
    private readonly long _length;
    private readonly string _path;
    private long _position;

    public GgufHeaderReader(byte* data, long length, string path)
    {
        _base = data;
        _length = length;
        _path = path;
        _position = 0;
    }

    public long Position => _position;

    public HearthException Corrupt(string what) => new($"corrupt GGUF file {_path}: {what}");

    private ReadOnlySpan<byte> Take(long count, string what)
    {
        if (count < 0 || count > _length - _position) throw Corrupt($"{what} runs past the end of the file (truncated?)");
        var span = new ReadOnlySpan<byte>(_base + _position, checked((int)count));
        _position += count;
        return span;
    }

    public byte ReadU8() => Take(1, "a value")[0];
    public ushort ReadU16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, "a value"));
    public uint ReadU32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, "a value"));
    public ulong ReadU64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "a value"));

    public long ReadCount(string what)
    {
        ulong n = ReadU64();
        if (n > MaxCount) throw Corrupt($"{what} count {n} is implausible");
        return (long)n;
    }

    public string ReadString(string what)
    {
        ulong n = ReadU64();
        if (n > (ulong)(_length - _position)) throw Corrupt($"{what} of {n} bytes runs past the end of the file (truncated?)");
        return Encoding.UTF8.GetString(Take((long)n, what));
    }

    public GgufValue ReadValue(GgufValueType type, string key, int depth = 0)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, ReadU8());
            case GgufValueType.Int8: return new(type, (sbyte)ReadU8());
            case GgufValueType.UInt16: return new(type, ReadU16());
            case GgufValueType.Int16: return new(type, (short)ReadU16());
            case GgufValueType.UInt32: return new(type, ReadU32());
            case GgufValueType.Int32: return new(type, (int)ReadU32());
            case GgufValueType.Float32: return new(type, BitConverter.UInt32BitsToSingle(ReadU32()));
            case GgufValueType.Bool:
                byte b = ReadU8();
                return b <= 1 ? new(type, b == 1) : throw Corrupt($"metadata '{key}' has bool byte {b}");
            case GgufValueType.String: return new(type, ReadString($"metadata '{key}'"));
            case GgufValueType.UInt64: return new(type, ReadU64());
            case GgufValueType.Int64: return new(type, (long)ReadU64());
            case GgufValueType.Float64: return new(type, BitConverter.UInt64BitsToDouble(ReadU64()));
            case GgufValueType.Array: return ReadArray(key, depth);
            default: throw Corrupt($"metadata '{key}' has unknown value type {(uint)type}");
        }
    }

    private GgufValue ReadArray(string key, int depth)
    {
        if (depth > 4) throw Corrupt($"metadata '{key}' nests arrays too deeply");
        var elementType = (GgufValueType)ReadU32();
        long count = ReadCount($"metadata '{key}' array");
        int n = (int)count;
        Array values = elementType switch
        {
            GgufValueType.UInt8 => new byte[n],
            GgufValueType.Int8 => new sbyte[n],
            GgufValueType.UInt16 => new ushort[n],
            GgufValueType.Int16 => new short[n],
            GgufValueType.UInt32 => new uint[n],
            GgufValueType.Int32 => new int[n],
            GgufValueType.Float32 => new float[n],
            GgufValueType.UInt64 => new ulong[n],
            GgufValueType.Int64 => new long[n],
            GgufValueType.Float64 => new double[n],
            GgufValueType.Bool => new bool[n],
            GgufValueType.String => new string[n],
            GgufValueType.Array => new GgufValue[n],
            _ => throw Corrupt($"metadata '{key}' is an array of unknown type {(uint)elementType}"),
        };
        for (int i = 0; i < n; i++)
        {
            switch (values)
            {
                case byte[] a: a[i] = ReadU8(); break;
                case sbyte[] a: a[i] = (sbyte)ReadU8(); break;
                case ushort[] a: a[i] = ReadU16(); break;
                case short[] a: a[i] = (short)ReadU16(); break;
                case uint[] a: a[i] = ReadU32(); break;
                case int[] a: a[i] = (int)ReadU32(); break;
                case float[] a: a[i] = BitConverter.UInt32BitsToSingle(ReadU32()); break;
                case ulong[] a: a[i] = ReadU64(); break;
                case long[] a: a[i] = (long)ReadU64(); break;
                case double[] a: a[i] = BitConverter.UInt64BitsToDouble(ReadU64()); break;
                case bool[] a: a[i] = ReadU8() != 0; break;
                case string[] a: a[i] = ReadString($"metadata '{key}' element {i}"); break;
                case GgufValue[] a: a[i] = ReadArray(key, depth + 1); break;
            }
        }
        return new GgufValue(GgufValueType.Array, values, elementType);
    }

    public GgufTensorInfo ReadTensorInfo()
    {
        string name = ReadString("a tensor name");
        uint numDims = ReadU32();
        if (numDims is 0 or > 4) throw Corrupt($"tensor '{name}' has {numDims} dimensions");
        var dims = new long[numDims];
        for (int i = 0; i < dims.Length; i++)
        {
            ulong d = ReadU64();
            if (d > int.MaxValue) throw Corrupt($"tensor '{name}' has dimension {d}");
            dims[i] = (long)d;
        }
        var type = (GgufTensorType)ReadU32();
        ulong offset = ReadU64();
        if (offset > (ulong)_length) throw Corrupt($"tensor '{name}' has data offset {offset} past the end of the file");
        return new GgufTensorInfo(name, type, dims, (long)offset);
    }
}
