using System.Buffers.Binary;
using System.Globalization;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>
/// One memory-mapped safetensors file. Tensors are views straight into the mapping, so they stay valid only
/// until this object is disposed; there is no finalizer, the owner must dispose it.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly ReadOnlyFileMapping _mapping;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;

    private SafetensorsFile(string path, ReadOnlyFileMapping mapping,
        long headerSizeBytes, Dictionary<string, SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _mapping = mapping;
        DataSectionOffset = 8 + headerSizeBytes;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>The header's optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Where tensor data starts in the file (8-byte size prefix + header).</summary>
    public long DataSectionOffset { get; }

    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    public IReadOnlyCollection<SafetensorsTensorInfo> Tensors => _tensors.Values;

    public static SafetensorsFile Open(string path)
    {
        long fileBytes = ReadOnlyFileMapping.LengthOf(path);
        if (fileBytes < 8)
            throw SafetensorsHeader.Corrupt(path, $"only {fileBytes} bytes, shorter than the 8-byte header size (file truncated?)");

        var mapped = ReadOnlyFileMapping.Map(path, fileBytes);
        try
        {
            byte* pointer = mapped.Pointer;
            ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer, 8));
            if (headerSize > (ulong)(fileBytes - 8))
                throw SafetensorsHeader.Corrupt(path, string.Create(CultureInfo.InvariantCulture,
                    $"header size {headerSize} runs past the end of the {fileBytes}-byte file (truncated, or not safetensors)"));
            if (headerSize > SafetensorsHeader.MaxHeaderSizeBytes)
                throw SafetensorsHeader.Corrupt(path, string.Create(CultureInfo.InvariantCulture,
                    $"header size {headerSize} is above the {SafetensorsHeader.MaxHeaderSizeBytes}-byte limit"));
            long headerBytes = (long)headerSize;
            var (tensors, metadata) = SafetensorsHeader.Parse(
                new ReadOnlySpan<byte>(pointer + 8, (int)headerBytes), fileBytes - 8 - headerBytes, path);
            return new SafetensorsFile(path, mapped, headerBytes, tensors, metadata);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    public bool TryGetInfo(string name, out SafetensorsTensorInfo info) => _tensors.TryGetValue(name, out info);

    /// <summary>A zero-copy view of the named tensor inside the mapping.</summary>
    public bool TryGetTensor(string name, out Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_mapping.Pointer == null, this);
        if (!_tensors.TryGetValue(name, out var info))
        {
            tensor = default;
            return false;
        }
        tensor = new Tensor((nint)(_mapping.Pointer + DataSectionOffset + info.DataBegin), info.DType, info.Shape);
        return true;
    }

    public Tensor GetTensor(string name) =>
        TryGetTensor(name, out var tensor) ? tensor : throw new HearthException($"tensor '{name}' not found in {Path}");

    /// <summary>The raw bytes of a tensor, for checks and conversions that read it on the host.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_mapping.Pointer == null, this);
        if (!_tensors.TryGetValue(name, out var info)) throw new HearthException($"tensor '{name}' not found in {Path}");
        return new ReadOnlySpan<byte>(_mapping.Pointer + DataSectionOffset + info.DataBegin, checked((int)info.SizeBytes));
    }

    public void Dispose() => _mapping.Dispose();
}
