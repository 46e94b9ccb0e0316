using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Engine.Runner;

/// <summary>
/// The KV cache of every layer, allocated once up front from a memory budget: per layer a key and a value
/// pool of [numBlocks, blockSize, kvHeads, headDim]. The BlockManager hands out block ids into it.
/// </summary>
public sealed class PagedKvCache : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = [];
    private readonly KvCacheLayer[] _layers;

    public PagedKvCache(IBackend backend, ModelConfig config, DType dtype, int blockSize, int numBlocks)
    {
        if (blockSize <= 0 || numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks), "block size and count must be positive");
        BlockSize = blockSize;
        NumBlocks = numBlocks;
        DType = dtype;
        var shape = new Shape(numBlocks, blockSize, config.NumKeyValueHeads, config.HeadDim);
        _layers = new KvCacheLayer[config.NumHiddenLayers];
        try
        {
            for (int i = 0; i < _layers.Length; i++)
                _layers[i] = new KvCacheLayer(Allocate(backend, dtype, shape), Allocate(backend, dtype, shape));
        }
        catch
        {
            Dispose();
            throw;
        }
        SizeBytes = 2L * _layers.Length * shape.NumElements * dtype.ElementSizeBytes();
    }

    public int BlockSize { get; }

    public int NumBlocks { get; }

    public DType DType { get; }

    public long SizeBytes { get; }

    public IReadOnlyList<KvCacheLayer> Layers => _layers;

    /// <summary>Bytes one block takes across all layers, keys and values.</summary>
    public static long BlockSizeBytes(ModelConfig config, DType dtype, int blockSize) =>
        2L * config.NumHiddenLayers * blockSize * config.NumKeyValueHeads * config.HeadDim * dtype.ElementSizeBytes();

    /// <summary>How many blocks fit in <paramref name="budgetBytes"/>; at least one, or a clear error.</summary>
    public static int BlocksForBudget(ModelConfig config, DType dtype, int blockSize, long budgetBytes)
    {
        long perBlock = BlockSizeBytes(config, dtype, blockSize);
        long blocks = budgetBytes / perBlock;
        if (blocks < 1)
            throw new HearthException($"a KV cache budget of {budgetBytes} bytes holds no block of {blockSize} tokens ({perBlock} bytes each)");
        return (int)Math.Min(blocks, int.MaxValue / blockSize);
    }

    private Tensor Allocate(IBackend backend, DType dtype, Shape shape)
    {
        var buffer = backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        _buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}
