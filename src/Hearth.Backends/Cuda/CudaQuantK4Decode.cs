namespace Hearth.Backends.Cuda;

/// <summary>
/// Which kernel serves a compact Q4_K (K4) decode launch of 1-8 rows (session 10, branch k4b): main's gemv_kquant6.cu
/// kernels; the same kernels with fewer instructions a weight (k4_compute_fast: S4, S8); or gemv_kquant4.cu's, which
/// also stream through D stage buffers a warp (W4D2, W4D3, W8D2). All compute the same values bit for bit as main's of
/// the same warps a tile. Pure logic, so CI covers it.
/// </summary>
internal static class CudaQuantK4Decode
{
    /// <summary>The kernels: main's (gemv_k4_stream, its 8-warp form, gemv_silu_k4_stream) or one of gemv_kquant4.cu's.</summary>
    public enum Kernel
    {
        /// <summary>gemv_kquant6.cu's K4 kernels (HEARTH_CUDA_K4_NEW=0).</summary>
        Main,
        /// <summary>4 warps a tile, 2 stage buffers (one stage a warp in flight), 4 blocks an SM.</summary>
        W4D2,
        /// <summary>4 warps a tile, 3 stage buffers (two in flight), 3 blocks an SM.</summary>
        W4D3,
        /// <summary>8 warps a tile, 2 stage buffers, 2 blocks an SM.</summary>
        W8D2,
        /// <summary>main's loop (4 warps, one stage in flight) with k4_compute_fast: gemv_k4_stream_fast, gemv_silu_k4_stream_fast.</summary>
        S4,
        /// <summary>main's 8-warp loop with k4_compute_fast: gemv_k4_stream_w8_fast.</summary>
        S8,
    }

    /// <summary>The NVRTC module of the new kernels.</summary>
    public const string ModuleName = "gemv_kquant4.cu";

    /// <summary>k a stage of one warp: 16 k-tiles, 4 16-byte loads a lane.</summary>
    public const int StageK = 256;

    public static string KernelName(Kernel kernel) => kernel switch
    {
        Kernel.W4D2 => "gemv_k4n_w4d2",
        Kernel.W4D3 => "gemv_k4n_w4d3",
        Kernel.W8D2 => "gemv_k4n_w8d2",
        Kernel.S4 => "gemv_k4_stream_fast",
        Kernel.S8 => "gemv_k4_stream_w8_fast",
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "main's kernels are gemv_kquant6.cu's"),
    };

    /// <summary>The fused gate|up + SiLU kernel of S4 (W4D2's is gemv_k4n_w4d2 with silu = 1).</summary>
    public const string SiluS4Name = "gemv_silu_k4_stream_fast";

    public static int Warps(Kernel kernel) => kernel is Kernel.W8D2 or Kernel.S8 ? 8 : 4;

    /// <summary>Whether the kernel is gemv_kquant4.cu's (16 arguments, the last the silu flag) rather than gemv_kquant6.cu's.</summary>
    public static bool IsStreamModule(Kernel kernel) => kernel is Kernel.W4D2 or Kernel.W4D3 or Kernel.W8D2;

    /// <summary>Blocks an SM at the kernel's launch bounds.</summary>
    public static int BlocksPerMultiprocessor(Kernel kernel) => kernel switch { Kernel.W4D3 => 3, Kernel.W8D2 or Kernel.S8 => 2, _ => 4 };

    /// <summary>
    /// The kernel of a plain (not SiLU-fused) launch of <paramref name="tiles"/> 16-row tiles, <paramref name="k"/> inputs
    /// and <paramref name="rows"/> rows of x: Main where the new kernels do not apply (off, k not whole 256-k stages, 0 or
    /// more than 8 rows); otherwise <paramref name="forced"/> if given; otherwise 3 buffers where the grid fits one wave at
    /// 3 blocks an SM (W4D3: the 14B o and ffn_down), else main's loop (S4: q|k|v's 448 tiles). Launches of several parts
    /// (q|k|v, an unfused gate|up) keep 4 warps, as main's: the fused gate|up + SiLU sums its tiles with 4 and must equal
    /// the unfused path.
    /// <para>
    /// Session 10 on the H100 (K4bTiming, 14B shapes, µs at m = 1 / 8, main → each): q|k|v 12.6 / 13.5 → S4 10.9 / 11.7,
    /// W4D2 11.0 / 12.5, W4D3 17.1 / 20.2 (two waves); o 11.6 / 12.6 → W4D3 9.6 / 10.6, S4 10.3 / 10.9; ffn_down (main: 8
    /// warps at m = 1) 29.7 / 34.9 → W4D3 27.9 / 31.0, S4 28.4 / 31.0, S8 32.3 / 36.3, W8D2 32.4 / 37.3. With the fast
    /// compute 8 warps a tile lose at every row count.
    /// </para>
    /// </summary>
    public static Kernel ChoosePlain(bool enabled, long tiles, int k, int rows, int multiprocessors, Kernel? forced, bool severalParts = false)
    {
        if (!enabled || rows < 1 || rows > 8 || k <= 0 || k % StageK != 0 || tiles < 1 || multiprocessors <= 0) return Kernel.Main;
        bool oneWave = tiles <= 3L * multiprocessors;
        var kernel = forced ?? (oneWave ? Kernel.W4D3 : Kernel.S4);
        return Warps(kernel) == 8 && severalParts ? oneWave ? Kernel.W4D3 : Kernel.S4 : kernel;
    }

    /// <summary>
    /// The kernel of a gate|up + SiLU launch at 1-8 rows and k whole 256-k stages: W4D2 (the stream running on from the gate
    /// tile into the up tile) at 1 row, or where <paramref name="forced"/>, when every one of its 4 warps takes the same
    /// whole number of stages (k a multiple of 1,024: the warps meet for the gate's sum at the same step); else S4; Main when
    /// off or out of range. Session 10 (H100, the 14B gate|up, µs): m = 1 main 51.8, S4 45.7, W4D2 44.8; m = 8 main 56.0,
    /// S4 49.3, W4D2 51.9 (2-7 rows not measured).
    /// </summary>
    public static Kernel ChooseSilu(bool enabled, int k, int rows, Kernel? forced = null)
    {
        if (!enabled || rows is < 1 or > 8 || k <= 0 || k % StageK != 0) return Kernel.Main;
        bool w4d2Fits = k % (4 * StageK) == 0;
        var kernel = forced is Kernel.W4D2 or Kernel.S4 ? forced.Value : rows == 1 ? Kernel.W4D2 : Kernel.S4;
        return kernel == Kernel.W4D2 && w4d2Fits ? Kernel.W4D2 : Kernel.S4;
    }

    /// <summary>HEARTH_CUDA_K4_NEW: "0" keeps main's kernels; anything else (or unset) takes the new ones.</summary>
    public static bool ParseSetting(string? value) => value != "0";

    /// <summary>
    /// HEARTH_CUDA_K4_KERNEL (plain launches) and HEARTH_CUDA_K4_SILU (the fused gate|up; "w4d2" or "s4"): "w4d2", "w4d3",
    /// "w8d2", "s4" or "s8" forces that kernel (A/B timing); anything else leaves the rule.
    /// </summary>
    public static Kernel? ParseForced(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "w4d2" => Kernel.W4D2,
        "w4d3" => Kernel.W4D3,
        "w8d2" => Kernel.W8D2,
        "s4" => Kernel.S4,
        "s8" => Kernel.S8,
        _ => null,
    };
}
