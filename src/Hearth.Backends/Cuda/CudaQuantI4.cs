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
/// <para>
/// Session 10 (tools/gpu/i4_harness.cu, H100, µs at m = 1, main's kernel → this rule): the A operands in one lop3 a
/// register pair instead of two instructions with immediates (the same values: results unchanged) cut the stage's
/// instructions, which is what held these kernels back; with it the 4-block D2 kernel takes q|k|v (448 tiles, one wave
/// at 528 slots: 10.21 → 9.41), and gate|up, fused with SiLU or not, takes D3 on the balanced grid (the fewest equal
/// rounds of units over the 396 slots: 40.27 → 36.91); o 9.78 → 7.71, down 27.19 → 19.44.
/// </para>
/// <para>
/// Session 11 (<see cref="Session11"/>, HEARTH_CUDA_I4_V3): the same shapes and grids with x's group sums at one MMA every
/// two k-tiles and unpredicated x loads (I4cTiming, H100, 14B, m = 1: the layer 74.4 → 72.6 µs, the step 3.94 → 3.85 ms).
/// </para>
/// </summary>
internal static class CudaQuantI4
{
    /// <summary>The three-stage kernel (W 4, L 4, D 3; 168 registers, 3 blocks an SM).</summary>
    public const string KernelName = "gemv_g4_i4_w4l4d3";

    /// <summary>The two-stage kernel (W 4, L 4, D 2; 4 blocks an SM): launches of one wave at 4 blocks an SM but not at 3.</summary>
    public const string TwoStageKernelName = "gemv_g4_i4_w4l4d2";

    /// <summary>Session 9's three-stage kernel without the lop3 operands (HEARTH_CUDA_I4_V2=0, for A/B runs).</summary>
    public const string Session9KernelName = "gemv_g4_i4_w4l4d3_s9";

    /// <summary>Session 11's kernels (gemv_quant_i4.cu modes 8, 4 and 6), by <see cref="CudaQuantI4Kernel"/>.</summary>
    public static readonly IReadOnlyDictionary<CudaQuantI4Kernel, string> Session11KernelNames = new Dictionary<CudaQuantI4Kernel, string>
    {
        [CudaQuantI4Kernel.HalfSumsThreeStage] = "gemv_g4_i4h_w4l4d3",
        [CudaQuantI4Kernel.HalfSumsTwoStage] = "gemv_g4_i4h_w4l4d2",
        [CudaQuantI4Kernel.ZeroThreeStage] = "gemv_g4_i4z_w4l4d3",
        [CudaQuantI4Kernel.ZeroTwoStage] = "gemv_g4_i4z_w4l4d2",
        [CudaQuantI4Kernel.PointerXThreeStage] = "gemv_g4_i4x_w4l4d3",
        [CudaQuantI4Kernel.PointerXTwoStage] = "gemv_g4_i4x_w4l4d2",
    };

    /// <summary>Warps a block (each a contiguous quarter of a tile's k, as gemv_g4_stream: the same sums bit for bit).</summary>
    public const int Warps = 4;

    /// <summary>k-tiles of 16 in one stage: 4 loads a lane of 4 k-tiles each.</summary>
    public const int StageTiles = 16;

    /// <summary>Blocks an SM of the three-stage kernel (__launch_bounds__(128, 3); 168 registers, no spills).</summary>
    public const int BlocksPerMultiprocessor = 3;

    /// <summary>Blocks an SM of the two-stage kernel (__launch_bounds__(128, 4)).</summary>
    public const int TwoStageBlocksPerMultiprocessor = 4;

    /// <summary>
    /// Whether a launch of <paramref name="k"/> inputs and group <paramref name="groupSize"/>, <paramref name="rows"/>
    /// rows of x, is a shape the i4 kernels take: G4 weights; 1-8 rows; every warp the same whole number of stages (k a
    /// multiple of 4 · 16 · 16 = 1,024); groups two to a stage (128, AWQ's and GPTQ's usual) or of whole stages (a
    /// multiple of 256), which the kernel's fold takes (GGUF's groups of 32 and GPTQ's 64 stay on the stream kernel).
    /// </summary>
    public static bool ShapeFits(CudaQuantFamily family, int k, int groupSize, int rows)
    {
        if (family != CudaQuantFamily.G4 || rows < 1 || rows > 8) return false;
        if (k <= 0 || k % (Warps * StageTiles * CudaQuantTiles.KTile) != 0) return false;
        int tilesPerGroup = groupSize / CudaQuantTiles.KTile;
        if (groupSize % CudaQuantTiles.KTile != 0 || tilesPerGroup <= 0 || (tilesPerGroup & (tilesPerGroup - 1)) != 0) return false;
        return 2 * tilesPerGroup == StageTiles || tilesPerGroup % StageTiles == 0;
    }

    /// <summary>Session 9's rule (and <see cref="Plan"/>'s with session 10 off): the shape fits and the tiles fit one wave at 3 blocks an SM.</summary>
    public static bool Takes(CudaQuantFamily family, int k, int groupSize, long tiles, int rows, int multiprocessors) =>
        tiles >= 1 && multiprocessors > 0 && ShapeFits(family, k, groupSize, rows) && tiles <= (long)BlocksPerMultiprocessor * multiprocessors;

    /// <summary>
    /// The kernel and grid for a g4 launch of <paramref name="tiles"/> 16-row tiles: <paramref name="gateUp"/> a
    /// gate|up pair (QuantSiluFits), <paramref name="fusedSilu"/> its fused SiLU launch (one unit a gate|up tile
    /// pair, else a tile). Session 10 (<paramref name="session10"/>): gate|up pairs take the three-stage kernel on the
    /// balanced grid; other launches the three-stage kernel if their tiles fit one wave at 3 blocks an SM, else the
    /// two-stage one if they fit one at 4; the rest (many waves) none. Session 9: only the first of those, unfused.
    /// </summary>
    public static CudaQuantI4Launch Plan(CudaQuantFamily family, int k, int groupSize, long tiles, int rows, bool gateUp, bool fusedSilu,
        bool session10, int multiprocessors)
    {
        if (tiles < 1 || multiprocessors <= 0 || !ShapeFits(family, k, groupSize, rows) || fusedSilu && (!gateUp || tiles % 2 != 0)) return default;
        long slots = (long)BlocksPerMultiprocessor * multiprocessors, units = fusedSilu ? tiles / 2 : tiles;
        if (!session10) return !fusedSilu && Takes(family, k, groupSize, tiles, rows, multiprocessors) ? new(CudaQuantI4Kernel.Session9, (int)tiles) : default;
        if (gateUp) return new(CudaQuantI4Kernel.ThreeStage, BalancedBlocks(units, slots));
        if (tiles <= slots) return new(CudaQuantI4Kernel.ThreeStage, (int)tiles);
        if (tiles <= (long)TwoStageBlocksPerMultiprocessor * multiprocessors) return new(CudaQuantI4Kernel.TwoStage, (int)tiles);
        return default;
    }

    /// <summary>
    /// Session 11 on top of <see cref="Plan"/>'s session 10 pick (<paramref name="session10Pick"/>): the same kernel shape
    /// (three or two stages) and grid with <paramref name="mode"/>'s arithmetic. The q − z operands need integer zero
    /// points (<paramref name="integerZeros"/>: Int4Group, whose offset is f16(−z·scale) with z in 0-16); without them, and
    /// for session 9's kernel or none, the pick stays.
    /// </summary>
    public static CudaQuantI4Launch Session11(CudaQuantI4Launch session10Pick, CudaQuantI4V3 mode, bool integerZeros)
    {
        bool three = session10Pick.Kernel == CudaQuantI4Kernel.ThreeStage;
        if (!three && session10Pick.Kernel != CudaQuantI4Kernel.TwoStage) return session10Pick;
        var kernel = mode switch
        {
            CudaQuantI4V3.HalfSums => three ? CudaQuantI4Kernel.HalfSumsThreeStage : CudaQuantI4Kernel.HalfSumsTwoStage,
            CudaQuantI4V3.ZeroOperands when integerZeros => three ? CudaQuantI4Kernel.ZeroThreeStage : CudaQuantI4Kernel.ZeroTwoStage,
            CudaQuantI4V3.PointerX => three ? CudaQuantI4Kernel.PointerXThreeStage : CudaQuantI4Kernel.PointerXTwoStage,
            _ => session10Pick.Kernel,
        };
        return session10Pick with { Kernel = kernel };
    }

    /// <summary>HEARTH_CUDA_I4_V3: "0" session 10's kernels, "qz" the q − z operands, "xp" session 10's arithmetic with the new x loads, else the half-sums kernels.</summary>
    public static CudaQuantI4V3 ParseV3(string? value) => value switch
    {
        "0" => CudaQuantI4V3.Off,
        "qz" => CudaQuantI4V3.ZeroOperands,
        "xp" => CudaQuantI4V3.PointerX,
        _ => CudaQuantI4V3.HalfSums,
    };

    /// <summary>Whether a host format's G4 offsets are integer zero points times the scale (the q − z kernels' premise).</summary>
    public static bool HasIntegerZeros(WeightFormat format) => format == WeightFormat.Int4Group;

    /// <summary>
    /// The balanced grid: the fewest rounds of at most <paramref name="slots"/> blocks that cover <paramref name="units"/>,
    /// and the fewest blocks that run those rounds (each block a contiguous range of units, as even as can be).
    /// </summary>
    public static int BalancedBlocks(long units, long slots)
    {
        if (units <= slots) return (int)units;
        long rounds = (units + slots - 1) / slots;
        return (int)((units + rounds - 1) / rounds);
    }

    /// <summary>HEARTH_CUDA_I4_NEW: "0" turns the i4 kernels off (main's stream kernel for every int4 launch); anything else leaves them on.</summary>
    public static bool ParseSetting(string? value) => value != "0";
}
