namespace Hearth.Engine;

/// <summary>A snapshot of the engine's load, for health checks, metrics and admission decisions.</summary>
public sealed record EngineStats(
    bool IsAlive,
    int NumRunning,
    int NumWaiting,
    int NumFreeBlocks,
    int NumTotalBlocks,
    long NumPromptTokensProcessed,
    long NumGenerationTokens,
    long NumPrefixCacheHitTokens,
    long NumPrefixCacheQueryTokens,
    long NumPreemptions);
