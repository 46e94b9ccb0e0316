namespace Hearth.Backends.Cuda;

/// <summary>
/// Which bytes of the next linear a short kernel pulls into L2 (<see cref="L2PrefetchSpans"/>). A weight that fits
/// the cap goes whole. A larger one gets a prefix in the order its decode GEMV reads: the tiles of the first wave
/// (<c>waveTiles</c>: the grid's first blocks, resident together), and of each of those tiles the first part of every
/// warp's run, since the decode GEMVs' <c>warpRuns</c> warps a tile each stream a contiguous share of k (quantized data
/// and per-tile params alike). Contiguous regions (fp8 block scales, permutations, dense matrices) take their prefix
/// from the cap first; they are small next to the tiles.
/// </summary>
internal static class L2PrefetchPlan
{
    /// <summary>Warps of a decode GEMV block, each streaming a contiguous quarter of its tile's k (gemv_quant_stream.cu, _i4, _wide).</summary>
    public const int DecodeGemvWarpRuns = 4;

    public static L2PrefetchSpans Build(ReadOnlySpan<L2WeightRegion> regions, long capBytes, int waveTiles, int warpRuns)
    {
        var spans = new L2PrefetchSpans();
        if (capBytes < 16) return spans;
        long whole = 0, contiguous = 0, wave = 0;
        foreach (var region in regions)
        {
            whole += region.TotalBytes;
            if (region.IsTiled) wave += region.Bytes * TakenTiles(region, waveTiles);
            else contiguous += region.Bytes;
        }
        if (whole <= capBytes)
        {
            foreach (var region in regions)
                if (!spans.TryAdd(region.Address, region.TotalBytes, 0, 1)) break;
            return spans;
        }
        long budget = capBytes;
        foreach (var region in regions)
        {
            if (region.IsTiled || budget < 16) continue;
            long bytes = Math.Min(region.Bytes, budget) & ~15L;
            if (!spans.TryAdd(region.Address, bytes, 0, 1)) return spans;
            budget -= bytes;
        }
        double fraction = wave == 0 ? 0 : Math.Min(1.0, (double)budget / wave);
        foreach (var region in regions)
        {
            int taken = region.IsTiled ? TakenTiles(region, waveTiles) : 0;
            if (taken == 0) continue;
            int runs = region.Bytes % (16L * warpRuns) == 0 ? warpRuns : 1;
            long runStride = region.Bytes / runs;
            long runBytes = (long)(fraction * runStride) & ~15L;
            if (runBytes < 16) continue;
            if (!spans.TryAdd(region.Address, runBytes, runStride, taken * runs)) return spans;
        }
        return spans;
    }

    /// <summary>The region's tiles that fall in the grid's first <paramref name="waveTiles"/> tiles.</summary>
    public static int TakenTiles(L2WeightRegion region, int waveTiles) => Math.Clamp(waveTiles - region.FirstTile, 0, region.Tiles);
}
