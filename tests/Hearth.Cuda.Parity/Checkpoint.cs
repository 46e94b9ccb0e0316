using System.IO.MemoryMappedFiles;
using System.Text.Json;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// A read-only, memory-mapped view of a (possibly sharded) safetensors checkpoint: an 8-byte little-endian
/// header length, a JSON header of name → dtype, shape, data_offsets, then the data. Just enough for the
/// parity runner's own forward pass; the engine has its own loader.
/// </summary>
internal sealed unsafe class Checkpoint : IDisposable
{
    private readonly List<(MemoryMappedFile File, MemoryMappedViewAccessor View)> _maps = [];
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    public Checkpoint(string directory)
    {
        string index = Path.Combine(directory, "model.safetensors.index.json");
        IEnumerable<string> shards = File.Exists(index)
            ? JsonDocument.Parse(File.ReadAllText(index)).RootElement.GetProperty("weight_map").EnumerateObject()
                .Select(p => p.Value.GetString()!).Distinct()
            : ["model.safetensors"];
        foreach (string shard in shards) Map(Path.Combine(directory, shard));
    }

    public Tensor this[string name] => _tensors.TryGetValue(name, out var t) ? t : throw new HearthException($"checkpoint has no tensor {name}");

    public bool Contains(string name) => _tensors.ContainsKey(name);

    private void Map(string path)
    {
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        _maps.Add((file, view));
        byte* basePtr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        basePtr += view.PointerOffset;
        long headerBytes = *(long*)basePtr;
        var header = JsonDocument.Parse(new ReadOnlyMemory<byte>(new ReadOnlySpan<byte>(basePtr + 8, (int)headerBytes).ToArray()));
        byte* data = basePtr + 8 + headerBytes;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            DType dtype = entry.Value.GetProperty("dtype").GetString() switch
            {
                "BF16" => DType.BF16,
                "F16" => DType.F16,
                "F32" => DType.F32,
                var other => throw new HearthException($"{entry.Name}: dtype {other} is not supported by the parity runner"),
            };
            long[] dims = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long start = entry.Value.GetProperty("data_offsets")[0].GetInt64();
            _tensors[entry.Name] = new Tensor((nint)(data + start), dtype, Shape.FromSpan(dims));
        }
    }

    public void Dispose()
    {
        foreach (var (file, view) in _maps)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }
        _maps.Clear();
    }
}
