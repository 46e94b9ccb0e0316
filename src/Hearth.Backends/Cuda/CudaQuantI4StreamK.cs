namespace Hearth.Backends.Cuda;

/// <summary>
/// The int4 stream-K decode GEMV (gemv_quant_i4.cu's I4SK_KERNEL, session 10): one grid of every resident warp, each
/// streaming an equal contiguous run of the launch's stages (a stage: 16 k-tiles of one 16-row tile, tile-major) through
/// its register buffers, across tile ends and with no barrier; a tile's sum is its per-warp segments added in warp
/// order. This class holds the host side of the kernel's arithmetic (the grid, the warp ranges and owners, the
/// workspace), mirrored exactly from the kernel so CI can check it. Pure logic.
/// </summary>
internal static class CudaQuantI4StreamK
{
    /// <summary>The kernel (I4SK_KERNEL instance): 4 loads a stage, 3 stage buffers, 3 blocks of 128 threads an SM.</summary>
    public const string KernelName = "gemv_g4_i4sk_l4d3";

    /// <summary>Warps a block (the kernel's warps are independent; the block only sets the occupancy).</summary>
    public const int WarpsPerBlock = 4;

    /// <summary>k-tiles of 16 in one stage: 4 loads a lane of 4 k-tiles each.</summary>
    public const int StageTiles = 16;

    /// <summary>Blocks an SM at the kernel's launch bounds (__launch_bounds__(128, 3)).</summary>
    public const int BlocksPerMultiprocessor = 3;

    /// <summary>f32 workspace the backend allocates once (segments, then gate|up tile sums): 16 MiB.</summary>
    public const long WorkspaceFloatsCapacity = 4L << 20;

    /// <summary>int counters the backend allocates once (a tile each, then a gate|up pair each).</summary>
    public const long CounterCapacity = 1L << 18;

    /// <summary>The kernel's mode argument: plain parts; fused gate|up + SiLU; the same gate|up pair unfused.</summary>
    public const int ModePlain = 0, ModeSilu = 1, ModePair = 2;

    /// <summary>
    /// Whether the kernel takes a launch of <paramref name="rows"/> rows of x (1-8), g4 weights of k inputs and groups of
    /// 128 (two a stage) or of whole stages (AWQ / GPTQ g128; GGUF's 32 and GPTQ's 64 stay on the stream kernel), k in
    /// whole stages, whose workspace fits the backend's.
    /// </summary>
    public static bool Takes(CudaQuantFamily family, int k, int groupSize, long virtualTiles, int rows, int multiprocessors)
    {
        if (family != CudaQuantFamily.G4 || rows < 1 || rows > 8 || virtualTiles < 1 || multiprocessors <= 0) return false;
        if (k <= 0 || k % (StageTiles * CudaQuantTiles.KTile) != 0) return false;
        int tilesPerGroup = groupSize / CudaQuantTiles.KTile;
        if (groupSize % CudaQuantTiles.KTile != 0 || tilesPerGroup <= 0 || (tilesPerGroup & (tilesPerGroup - 1)) != 0) return false;
        if (2 * tilesPerGroup != StageTiles && tilesPerGroup % StageTiles != 0) return false;
        long total = virtualTiles * StagesPerTile(k);
        if (total < WarpsPerBlock || total > int.MaxValue / 4) return false;
        int warps = Blocks(virtualTiles, k, multiprocessors) * WarpsPerBlock;
        return WorkspaceFloats(virtualTiles, k, warps) <= WorkspaceFloatsCapacity && virtualTiles + virtualTiles / 2 <= CounterCapacity;
    }

    /// <summary>Stages of one tile.</summary>
    public static int StagesPerTile(int k) => k / (StageTiles * CudaQuantTiles.KTile);

    /// <summary>The grid: every resident block, but no more warps than stages (each warp streams at least one).</summary>
    public static int Blocks(long virtualTiles, int k, int multiprocessors)
    {
        long total = virtualTiles * StagesPerTile(k);
        return (int)Math.Max(1, Math.Min((long)BlocksPerMultiprocessor * multiprocessors, total / WarpsPerBlock));
    }

    /// <summary>Warp <paramref name="warp"/>'s flat stages [start, end) of <paramref name="totalStages"/> over <paramref name="warps"/> warps.</summary>
    public static (int Start, int End) RangeOf(int warp, int totalStages, int warps) =>
        ((int)((long)warp * totalStages / warps), (int)((long)(warp + 1) * totalStages / warps));

    /// <summary>The warp whose range holds flat stage <paramref name="stage"/> (i4sk_owner).</summary>
    public static int Owner(int stage, int totalStages, int warps) => (int)(((long)(stage + 1) * warps + totalStages - 1) / totalStages) - 1;

    /// <summary>A bound on the segments (warps) one tile is cut into (i4sk_max_segments): its slots in the workspace.</summary>
    public static int MaxSegments(int stagesPerTile, int totalStages, int warps) => (stagesPerTile - 1) / (totalStages / warps) + 2;

    /// <summary>f32 workspace of a launch: [tiles, max segments, 128] segments, then [tiles, 128] gate|up tile sums.</summary>
    public static long WorkspaceFloats(long virtualTiles, int k, int warps)
    {
        int perTile = StagesPerTile(k), total = (int)(virtualTiles * perTile);
        return virtualTiles * (MaxSegments(perTile, total, warps) + 1L) * 128;
    }

    /// <summary>HEARTH_CUDA_I4_SK: "0" turns the stream-K kernel off (the per-tile kernels); anything else leaves it on.</summary>
    public static bool ParseSetting(string? value) => value != "0";
}
