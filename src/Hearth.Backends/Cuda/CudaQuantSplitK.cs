namespace Hearth.Backends.Cuda;

/// <summary>
/// How many blocks share each 16-row tile's k in the quantized decode GEMVs (gemv_quant_stream.cu, gemv_quant_wide.cu:
/// split k, combined deterministically by splitk_finish in common.cu). Pure logic, so CI covers it.
/// <para>
/// Session 8 measured on the H100 (tools/gpu/splitk_harness.cu, docs/performance.md): launches of two or more tiles an
/// SM (every Qwen3-14B linear: 320-448 tiles on 132 SMs) are no faster split, and slower in a whole layer, because
/// all their blocks are resident at once already and a split adds waves and the partials' round trip; launches of
/// fewer tiles than SMs leave SMs idle, and splitting fills them.
/// </para>
/// </summary>
internal static class CudaQuantSplitK
{
    /// <summary>Most blocks a tile is split over.</summary>
    public const int MaxSplits = 4;

    /// <summary>Launches of more tiles than this never split (the f32 partials workspace holds this many tiles' splits).</summary>
    public const int MaxTiles = 2048;

    /// <summary>Launches of fewer tiles than this many an SM are short: they split.</summary>
    public const double ShortLaunchTilesPerMultiprocessor = 1.0;

    /// <summary>The unit of k a split is counted in: 256 inputs, one stage of the g4 stream and the wide kernel.</summary>
    public const int KUnit = 256;

    /// <summary>Units of k each warp of a split keeps at the least, so that it still has loads in flight behind its math.</summary>
    public const int MinUnitsPerWarp = 1;

    /// <summary>
    /// Blocks each tile is split over for a launch of <paramref name="tiles"/> 16-row tiles of <paramref name="k"/>
    /// inputs, <paramref name="warpsPerBlock"/> warps a block, on <paramref name="multiprocessors"/> SMs: 1 (no split)
    /// unless the launch is short (fewer than <see cref="ShortLaunchTilesPerMultiprocessor"/> tiles an SM), else as many
    /// as leave every warp <see cref="MinUnitsPerWarp"/> units of k, at most <see cref="MaxSplits"/>. The count of a
    /// short launch depends on k alone, so the parts of a fused launch (q|k|v, a GGUF family mix) are summed alike
    /// whether they run together or apart. <paramref name="forcedSplits"/> (HEARTH_CUDA_QUANT_SPLITK=2..4) replaces the
    /// rule for every launch that has at least one unit of k a warp for it.
    /// </summary>
    public static int SplitsFor(long tiles, int k, int warpsPerBlock, int multiprocessors, int? forcedSplits = null)
    {
        if (tiles <= 0 || tiles > MaxTiles || k < KUnit || warpsPerBlock <= 0 || multiprocessors <= 0) return 1;
        int units = k / KUnit;
        if (forcedSplits is int forced) return Math.Clamp(forced, 1, Math.Clamp(units / warpsPerBlock, 1, MaxSplits));
        if (tiles >= ShortLaunchTilesPerMultiprocessor * multiprocessors) return 1;
        return Math.Clamp(units / (warpsPerBlock * MinUnitsPerWarp), 1, MaxSplits);
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
