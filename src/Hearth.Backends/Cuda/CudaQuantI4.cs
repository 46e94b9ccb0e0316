namespace Hearth.Backends.Cuda;

/// <summary>
/// Which int4 decode GEMV launches take gemv_quant_i4.cu's deeper register stream (session 9): three stage buffers of
/// four 16-byte loads a lane, so every warp has two 2 KB stages in flight behind its math instead of one, at the price
/// of 168 registers a thread: 3 blocks of 4 warps an SM instead of 4. Pure logic, so CI covers it.
/// <para>
/// Session 9 on the H100 (tools/gpu/i4_harness.cu, 14B shapes, AWQ g128, 8 copies from a graph with PDL, µs at m = 1 /
/// 8, main's register stream → this one): o (320 tiles) 9.80 → 8.14 / 10.70 → 9.87, down (320 tiles, k = 17408)
/// 27.22 → 21.26 / 30.61 → 25.38; but q|k|v (448 tiles) 10.2 → 13.9, since 448 blocks no longer fit the 396 slots of
/// one wave, and gate|up (2,176 tiles, many waves) 40.0 → 40.4. So: launches that fit one wave at its occupancy.
/// Through the backend (I4Timing, four 14B layers from a graph, PDL): o 9.8 → 8.5 µs, down 26.9 → 21.7, the layer
/// 84.8 → 82.3 at m = 1 and 94.7 → 92.2 at m = 8; the whole decode step only 4.51 → 4.49 ms.
/// </para>
/// </summary>
internal static class CudaQuantI4
{
    /// <summary>The kernel (gemv_quant_i4.cu's I4_KERNEL instance): 4 warps, 4 loads a stage, 3 stage buffers.</summary>
    public const string KernelName = "gemv_g4_i4_w4l4d3";

    /// <summary>Warps a block (each a contiguous quarter of a tile's k, as gemv_g4_stream: the same sums bit for bit).</summary>
    public const int Warps = 4;

    /// <summary>k-tiles of 16 in one stage: 4 loads a lane of 4 k-tiles each.</summary>
    public const int StageTiles = 16;

    /// <summary>Blocks an SM at the kernel's launch bounds (__launch_bounds__(128, 3); 168 registers, no spills).</summary>
    public const int BlocksPerMultiprocessor = 3;

    /// <summary>
    /// Whether a launch of <paramref name="tiles"/> 16-row tiles of <paramref name="k"/> inputs and group
    /// <paramref name="groupSize"/>, <paramref name="rows"/> rows of x, takes the i4 kernel on a GPU of
    /// <paramref name="multiprocessors"/> SMs: G4 weights; 1-8 rows; every warp the same whole number of stages
    /// (k a multiple of 4 · 16 · 16 = 1,024); groups two to a stage (128, AWQ's and GPTQ's usual) or of whole stages
    /// (a multiple of 256), which the kernel's fold takes (GGUF's groups of 32 and GPTQ's 64 stay on the stream
    /// kernel); and a grid that fits one wave at <see cref="BlocksPerMultiprocessor"/> blocks an SM.
    /// </summary>
    public static bool Takes(CudaQuantFamily family, int k, int groupSize, long tiles, int rows, int multiprocessors)
    {
        if (family != CudaQuantFamily.G4 || rows < 1 || rows > 8 || tiles < 1 || multiprocessors <= 0) return false;
        if (k <= 0 || k % (Warps * StageTiles * CudaQuantTiles.KTile) != 0) return false;
        int tilesPerGroup = groupSize / CudaQuantTiles.KTile;
        if (groupSize % CudaQuantTiles.KTile != 0 || tilesPerGroup <= 0 || (tilesPerGroup & (tilesPerGroup - 1)) != 0) return false;
        if (2 * tilesPerGroup != StageTiles && tilesPerGroup % StageTiles != 0) return false;
        return tiles <= (long)BlocksPerMultiprocessor * multiprocessors;
    }

    /// <summary>HEARTH_CUDA_I4_NEW: "0" turns the i4 kernel off (main's stream kernel for every int4 launch); anything else leaves it on.</summary>
    public static bool ParseSetting(string? value) => value != "0";
}
