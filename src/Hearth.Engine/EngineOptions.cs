namespace Hearth.Engine;

/// <summary>How the serving engine is sized and scheduled (vLLM's names in comments).</summary>
public sealed record EngineOptions
{
    /// <summary>--max-num-seqs: requests running at once.</summary>
    public int MaxNumSeqs { get; init; } = 64;

    /// <summary>--max-num-batched-tokens: tokens computed in one step across all requests.</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;

    /// <summary>--max-model-len: prompt plus output tokens per request; null takes the model's max_position_embeddings.</summary>
    public int? MaxModelLen { get; init; }

    /// <summary>Tokens per KV cache block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Bytes for the KV cache pool; null sizes it for MaxNumSeqs full-length requests, capped by available memory.</summary>
    public long? KvCacheBytes { get; init; }

    /// <summary>--kv-cache-dtype: the KV cache's element type; null (auto) is the backend's activation type. See Cache.KvCacheDTypes.</summary>
    public Hearth.Core.DType? KvCacheDType { get; init; }

    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>--max-queue: requests allowed to wait; more are refused with <see cref="EngineOverloadedException"/>.</summary>
    public int MaxQueue { get; init; } = 256;
}
