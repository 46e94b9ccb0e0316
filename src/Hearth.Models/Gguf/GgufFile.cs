using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Models.Gguf;

/// <summary>
/// A memory-mapped GGUF v3 file: its metadata and zero-copy views of its tensors. Views die with this object;
/// there is no finalizer, the owner must dispose it.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const int DefaultAlignmentBytes = 32;
    public const string AlignmentKey = "general.alignment";

    private readonly ReadOnlyFileMapping _mapping;
    private readonly Dictionary<string, GgufTensorInfo> _tensors;

    private GgufFile(string path, ReadOnlyFileMapping mapping, uint version,
        Dictionary<string, GgufValue> metadata, List<GgufTensorInfo> tensors, int alignmentBytes, long dataOffset)
    {
        Path = path;
        _mapping = mapping;
        Version = version;
        Metadata = metadata;
        TensorList = tensors;
        _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        AlignmentBytes = alignmentBytes;
        DataOffsetBytes = dataOffset;
    }

    public string Path { get; }

    public uint Version { get; }

    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> TensorList { get; }

    public int AlignmentBytes { get; }

    /// <summary>Where the tensor data section starts in the file.</summary>
    public long DataOffsetBytes { get; }

    /// <summary>Whether a file starts with the GGUF magic (so --model can tell a GGUF from anything else).</summary>
    public static bool HasMagic(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static GgufFile Open(string path)
    {
        long fileBytes = ReadOnlyFileMapping.LengthOf(path);
        if (fileBytes == 0) throw new HearthException($"corrupt GGUF file {path}: the file is empty");
        var mapped = ReadOnlyFileMapping.Map(path, fileBytes);
        try
        {
            var reader = new GgufHeaderReader(mapped.Pointer, fileBytes, path);
            if (fileBytes < 8 || reader.ReadU32() != GgufHeaderReader.Magic)
                throw new HearthException($"{path} is not a GGUF file (no GGUF magic)");
            uint version = reader.ReadU32();
            if (version != 3)
                throw new HearthException($"GGUF version {version} in {path} is not supported; Hearth reads GGUF v3");
            long numTensors = reader.ReadCount("tensor");
            long numMetadata = reader.ReadCount("metadata");
            var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            for (long i = 0; i < numMetadata; i++)
            {
                string key = reader.ReadString("a metadata key");
                var type = (GgufValueType)reader.ReadU32();
                metadata[key] = reader.ReadValue(type, key);
            }
            int alignment = DefaultAlignmentBytes;
            if (metadata.TryGetValue(AlignmentKey, out var alignValue))
            {
                alignment = alignValue.AsInt32(AlignmentKey);
                if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
                    throw reader.Corrupt($"{AlignmentKey} {alignment} is not a power of two");
            }
            var tensors = new List<GgufTensorInfo>((int)numTensors);
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (long i = 0; i < numTensors; i++)
            {
                var info = reader.ReadTensorInfo();
                if (!names.Add(info.Name)) throw reader.Corrupt($"tensor '{info.Name}' appears twice");
                tensors.Add(info);
            }
            long dataOffset = AlignUp(reader.Position, alignment);
            foreach (var t in tensors) CheckPlacement(reader, t, alignment, fileBytes - dataOffset);
            return new GgufFile(path, mapped, version, metadata, tensors, alignment, dataOffset);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    private static void CheckPlacement(GgufHeaderReader reader, GgufTensorInfo t, int alignment, long dataBytes)
    {
        if (t.OffsetBytes % alignment != 0) throw reader.Corrupt($"tensor '{t.Name}' offset {t.OffsetBytes} is not {alignment}-byte aligned");
        // Sizes of types Hearth cannot run are unknown; those tensors are refused when used, by name and type.
        if (!GgufBlockLayout.IsSupported(t.Type)) return;
        if (t.RowElements % GgufBlockLayout.BlockElements(t.Type) != 0)
            throw reader.Corrupt($"tensor '{t.Name}' rows of {t.RowElements} are not whole {t.Type} blocks");
        if (t.OffsetBytes + t.SizeBytes > dataBytes)
            throw reader.Corrupt($"tensor '{t.Name}' runs past the end of the file (truncated?)");
    }

    internal static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    public bool TryGetInfo(string name, out GgufTensorInfo info) => _tensors.TryGetValue(name, out info!);

    public GgufTensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new HearthException($"tensor '{name}' not found in {Path}");

    /// <summary>The address of a tensor's data inside the mapping.</summary>
    public nint GetData(GgufTensorInfo info)
    {
        ObjectDisposedException.ThrowIf(_mapping.Pointer == null, this);
        if (!GgufBlockLayout.IsSupported(info.Type)) throw new HearthException($"tensor '{info.Name}' in {Path}: {GgufBlockLayout.Unsupported(info.Type).Message}");
        return (nint)(_mapping.Pointer + DataOffsetBytes + info.OffsetBytes);
    }

    /// <summary>A tensor's raw bytes (blocks for quantized types).</summary>
    public ReadOnlySpan<byte> GetBytes(GgufTensorInfo info) => new((void*)GetData(info), checked((int)info.SizeBytes));

    /// <summary>A zero-copy view of a plain (F32/F16/BF16) tensor in Hearth's row-major shape.</summary>
    public Tensor GetPlainTensor(GgufTensorInfo info)
    {
        var dtype = GgufBlockLayout.PlainDType(info.Type)
            ?? throw new HearthException($"tensor '{info.Name}' in {Path} is {info.Type}, where a plain F32, F16 or BF16 tensor is needed");
        return new Tensor(GetData(info), dtype, info.Shape);
    }

    public bool TryGetMetadata(string key, out GgufValue value) => Metadata.TryGetValue(key, out value!);

    public GgufValue GetMetadata(string key) =>
        Metadata.TryGetValue(key, out var value) ? value : throw new HearthException($"GGUF metadata '{key}' is missing from {Path}");

    public void Dispose() => _mapping.Dispose();
}
