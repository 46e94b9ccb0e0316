using System.Globalization;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Runner;

namespace Hearth.Engine.Cache;

/// <summary>
/// What a KV cache budget buys: whole blocks of <see cref="BlockSize"/> tokens across every layer's keys and
/// values, so a request of n tokens holds ceil(n / BlockSize) blocks and the longest single request is every
/// block (capped by the model's context length). Halving the element size (fp8) doubles the tokens.
/// </summary>
public sealed record KvCachePlan(int NumBlocks, int BlockSize, DType DType, long SizeBytes, int MaxModelLen)
{
    public long NumTokens => (long)NumBlocks * BlockSize;

    /// <summary>The longest context one request can reach alone: all blocks, at most the model's context length.</summary>
    public long MaxContextAtBatch1 => Math.Min(NumTokens, MaxModelLen);

    /// <summary>The plan for a byte budget, as the engine allocates it (<see cref="PagedKvCache.BlocksForBudget"/>).</summary>
    public static KvCachePlan ForBudget(ModelConfig config, DType dtype, int blockSize, long budgetBytes, int maxModelLen)
    {
        int blocks = PagedKvCache.BlocksForBudget(config, dtype, blockSize, budgetBytes);
        return new KvCachePlan(blocks, blockSize, dtype, blocks * PagedKvCache.BlockSizeBytes(config, dtype, blockSize), maxModelLen);
    }

    /// <summary>The plan of an allocated cache.</summary>
    public static KvCachePlan Of(PagedKvCache cache, int maxModelLen) =>
        new(cache.NumBlocks, cache.BlockSize, cache.DType, cache.SizeBytes, maxModelLen);

    /// <summary>"KV cache: 163,840 tokens (12.50 GiB, fp8_e4m3) = max context 40,960 at batch 1".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"KV cache: {NumTokens:N0} tokens ({SizeBytes / (double)(1L << 30):F2} GiB, {KvCacheDTypes.Name(DType)}) = max context {MaxContextAtBatch1:N0} at batch 1");
}
