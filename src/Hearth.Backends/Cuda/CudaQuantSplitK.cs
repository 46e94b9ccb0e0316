namespace Hearth.Backends.Cuda;

/// <summary>
/// How many blocks share each 16-row tile's k in the quantized decode GEMVs (gemv_quant_stream.cu, gemv_quant_wide.cu:
/// split k, combined deterministically by splitk_finish in common.cu). Pure logic, so CI covers it.
/// <para>
/// Session 8 on the H100 (tools/gpu/splitk_harness.cu, docs/performance.md): a launch that already has about
/// <see cref="TargetBlocksPerMultiprocessor"/> blocks an SM (4 blocks of 4 warps is the kernels' occupancy) gains
/// nothing from a split: every Qwen3-14B linear (320-2,176 tiles on 132 SMs) ran as fast or slower split, and a whole
/// 14B layer slower. Launches of fewer tiles with a long k gain: int4 down at 128 / 160 / 256 tiles (k = 6144 / 9728 /
/// 12288) went 8.9 → 6.6, 13.9 → 9.8 and 17.4 → 14.2 µs split 4, 3 and 2 ways, the splits that bring the grid to about
/// four blocks an SM. A short k loses: each warp needs <see cref="MinUnitsPerWarp"/> units of k (a 128-tile o at
/// k = 2048 was slower however split).
/// </para>
/// </summary>
internal static class CudaQuantSplitK
{
    /// <summary>Most blocks a tile is split over.</summary>
    public const int MaxSplits = 4;

    /// <summary>Launches of more tiles than this never split (the f32 partials workspace holds this many tiles' splits).</summary>
    public const int MaxTiles = 2048;

    /// <summary>Blocks an SM a split grid aims at (the decode GEMVs' occupancy: 4 blocks of 4 warps).</summary>
    public const int TargetBlocksPerMultiprocessor = 4;

    /// <summary>The unit of k a split is counted in: 256 inputs, one stage of the g4 stream and the wide kernel.</summary>
    public const int KUnit = 256;

    /// <summary>Units of k each warp of a split keeps at the least, so that it still has loads in flight behind its math.</summary>
    public const int MinUnitsPerWarp = 2;

    /// <summary>
    /// Blocks each tile is split over for a launch of <paramref name="tiles"/> 16-row tiles of <paramref name="k"/>
    /// inputs, <paramref name="warpsPerBlock"/> warps a block, on <paramref name="multiprocessors"/> SMs: the most
    /// splits that keep the grid within <see cref="TargetBlocksPerMultiprocessor"/> blocks an SM and leave each warp
    /// <see cref="MinUnitsPerWarp"/> units of k, at most <see cref="MaxSplits"/>; 1 is no split.
    /// <paramref name="forcedSplits"/> (HEARTH_CUDA_QUANT_SPLITK=2..4) replaces the rule for every launch that has at
    /// least one unit of k a warp for it.
    /// </summary>
    public static int SplitsFor(long tiles, int k, int warpsPerBlock, int multiprocessors, int? forcedSplits = null)
    {
        if (tiles <= 0 || tiles > MaxTiles || k < KUnit || warpsPerBlock <= 0 || multiprocessors <= 0) return 1;
        int units = k / KUnit;
        if (forcedSplits is int forced) return Math.Clamp(forced, 1, Math.Clamp(units / warpsPerBlock, 1, MaxSplits));
        long byGrid = (long)TargetBlocksPerMultiprocessor * multiprocessors / tiles;
        int byK = units / (warpsPerBlock * MinUnitsPerWarp);
        return (int)Math.Clamp(Math.Min(byGrid, byK), 1, MaxSplits);
    }

    /// <summary>
    /// Reads HEARTH_CUDA_QUANT_SPLITK: "0" = off (every launch unsplit), "2".."4" = that many splits wherever the limits
    /// allow (A/B timing, parity runs), anything else (unset) = the rule. Returns (enabled, forced splits or null).
    /// </summary>
    public static (bool Enabled, int? Forced) ParseSetting(string? value) => value switch
    {
        "0" => (false, null),
        "1" => (true, 1),
        "2" => (true, 2),
        "3" => (true, 3),
        "4" => (true, 4),
        _ => (true, null),
    };

    /// <summary>f32 partials the workspace needs: [tiles, splits, 128] for the largest launch that may split.</summary>
    public static long PartialsBytes => (long)MaxTiles * MaxSplits * 128 * sizeof(float);

    /// <summary>Per-tile arrival counters the workspace needs (ints, zero between launches).</summary>
    public static long CountersBytes => (long)MaxTiles * sizeof(int);
}
