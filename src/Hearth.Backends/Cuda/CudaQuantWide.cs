namespace Hearth.Backends.Cuda;

/// <summary>
/// Shapes and launch sizes of the wide quantized GEMV (gemv_quant_wide.cu: f8, and g4 on request, tiles at 1-8 rows). A block is one
/// 16-row tile whose k is split into contiguous runs of stages over its warps; a stage is <see cref="Loads"/> 16-byte
/// loads a lane. The same warp count must serve a gate|up pair fused (gemv_silu_*_wide) and unfused, so that both
/// sum each tile in the same order: <see cref="WarpsFor"/> depends on k and the per-part row count only.
/// </summary>
internal static class CudaQuantWide
{
    /// <summary>QW_LOADS of gemv_quant_wide.cu: 16-byte loads a lane in one stage.</summary>
    public const int Loads = 8;

    /// <summary>Most warps a block (QW_MAX_WARPS), and the fewest the block's epilogue needs (its first 128 threads).</summary>
    public const int MaxWarps = 8, MinWarps = 4;

    /// <summary>k-tiles of 16 weights in one stage.</summary>
    public static int StageTiles(CudaQuantFamily family) => CudaQuantTiles.TilesPerLoad(family) * Loads;

    /// <summary>
    /// Whether the wide kernel takes this shape: a g4 or f8 layout, k in whole stages, and groups (f8: scale blocks) of
    /// 2^i k-tiles that hold whole stages or fill one stage in 2, 4 or 8 (a stage reads at most 8 groups' params).
    /// </summary>
    public static bool Fits(CudaQuantFamily family, int k, int groupSize)
    {
        if (family == CudaQuantFamily.G8) return false;
        int stageTiles = StageTiles(family), tilesPerGroup = groupSize / CudaQuantTiles.KTile;
        if (k <= 0 || k % (stageTiles * CudaQuantTiles.KTile) != 0 || tilesPerGroup <= 0 || (tilesPerGroup & (tilesPerGroup - 1)) != 0) return false;
        return tilesPerGroup % stageTiles == 0 || stageTiles == 2 * tilesPerGroup || stageTiles == 4 * tilesPerGroup || stageTiles == 8 * tilesPerGroup;
    }

    /// <summary>
    /// Warps a tile for a launch whose largest part has <paramref name="largestPartRows"/> rows of k inputs:
    /// <paramref name="overrideWarps"/> (HEARTH_CUDA_QUANT_WIDE_WARPS: 4 or 8) when set, else
    /// <see cref="DefaultWarps"/>; never more warps than the tile has stages.
    /// </summary>
    public static int WarpsFor(CudaQuantFamily family, int k, int largestPartRows, int? overrideWarps = null)
    {
        int stages = k / (StageTiles(family) * CudaQuantTiles.KTile);
        int warps = overrideWarps is 4 or 8 ? overrideWarps.Value : DefaultWarps(k, largestPartRows);
        while (warps > MinWarps && warps > stages) warps /= 2;
        return warps;
    }

    /// <summary>
    /// The measured choice (docs/performance.md, "Quantized GEMV, session 7"): 4 warps a tile was fastest for every
    /// 14B shape at m = 1 and 8 (8 warps 3-23 % slower), so the rule does not depend on the shape yet.
    /// </summary>
    public static int DefaultWarps(int k, int largestPartRows) => MinWarps;

    /// <summary>
    /// Whether fp8 launches take the f16 kernels (gemv_f8_wide_h, gemv_silu_f8_wide_h): they need
    /// cvt.rn.f16x2.e4m3x2, so compute capability 8.9 or newer, and the switch on. Below 8.9 the bf16 kernels run.
    /// </summary>
    public static bool UsesF16Kernels(int computeMajor, int computeMinor, bool switchOn) =>
        switchOn && computeMajor * 10 + computeMinor >= MinF16ComputeCapability;

    /// <summary>Compute capability (major · 10 + minor) of the first GPUs with e4m3 → f16x2 conversion (sm_89).</summary>
    public const int MinF16ComputeCapability = 89;

    /// <summary>HEARTH_CUDA_F8_NEW: on unless "0" (the bf16 kernels, session 10's arithmetic path, for A/B).</summary>
    public static bool ParseF16Switch(string? value) => value?.Trim() != "0";

    /// <summary>
    /// Batch rows the f16 kernels convert into shared memory (QW_XH_ROWS of gemv_quant_wide.cu); launches of more rows
    /// run the bf16 path inside the same kernel, so fused and unfused gate|up still agree.
    /// </summary>
    public const int F16MaxRows = 4;

    /// <summary>Parses HEARTH_CUDA_QUANT_WIDE_WARPS: 4 or 8, else null (the default rule).</summary>
    public static int? ParseWarps(string? value) => value switch { "4" => 4, "8" => 8, _ => null };
}
