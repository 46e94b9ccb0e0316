namespace Hearth.Backends.Cuda;

/// <summary>
/// Session 11 (branch g6d) of the compact GGUF decode launches at 1-8 rows: which kernel serves a G6 (compact Q6_K)
/// GEMV, and whether the fused K4 (compact Q4_K) gate|up + SiLU streams a range of tiles a block. Every kernel here
/// computes the same values bit for bit as session 10's of the same warps a tile (gemv_g6_stream, gemv_k4_stream); only
/// the instructions a weight and the way the stages stream differ. Pure logic, so CI covers it.
/// </summary>
internal static class CudaQuantG6Decode
{
    public enum Kernel
    {
        /// <summary>Session 10's kernels (HEARTH_CUDA_G6_NEW=0, or a launch the new ones do not take).</summary>
        Main,
        /// <summary>gemv_g6_stream's loop (4 warps, one stage in flight) with q6_compute_t&lt;true&gt;: gemv_g6_stream_fast.</summary>
        S4,
        /// <summary>gemv_kquant4.cu's stream, 4 warps, 3 stage buffers, 3 blocks an SM, one tile a block.</summary>
        W4D3,
        /// <summary>The same with 2 stage buffers at 4 blocks an SM.</summary>
        W4D2,
        /// <summary>W4D3's kernel on a balanced one-wave grid: a contiguous range of tiles a block (<see cref="BalancedBlocks"/>).</summary>
        M3,
        /// <summary>W4D2's kernel on a balanced one-wave grid of 4 blocks an SM.</summary>
        M2,
    }

    /// <summary>k a stage of one warp.</summary>
    public const int StageK = 256;

    /// <summary>Warps a block of every kernel here (the fused gate|up must sum its tiles as the 4-warp unfused launch).</summary>
    public const int Warps = 4;

    public static int BlocksPerMultiprocessor(Kernel kernel) => kernel is Kernel.W4D3 or Kernel.M3 ? 3 : 4;

    /// <summary>The kernel's name: G6's, or (<paramref name="g6"/> false) the K4 form of the stream kernels.</summary>
    public static string KernelName(Kernel kernel, bool g6) => kernel switch
    {
        Kernel.S4 when g6 => "gemv_g6_stream_fast",
        Kernel.W4D3 or Kernel.M3 => g6 ? "gemv_g6m_w4d3" : "gemv_k4m_w4d3",
        Kernel.W4D2 or Kernel.M2 => g6 ? "gemv_g6m_w4d2" : "gemv_k4m_w4d2",
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "no such kernel of this family"),
    };

    /// <summary>Whether the kernel is gemv_kquant4.cu's (16 arguments, the last the silu flag) rather than gemv_kquant6.cu's.</summary>
    public static bool IsStreamModule(Kernel kernel) => kernel is not (Kernel.Main or Kernel.S4);

    /// <summary>
    /// The fewest blocks that take <paramref name="tiles"/> in the fewest rounds of at most <paramref name="slots"/>
    /// resident blocks, each a contiguous range (sizes differ by at most one): 1,088 tiles on 396 slots → 3 rounds, 363
    /// blocks. At most <paramref name="slots"/>, so the grid is one wave.
    /// </summary>
    public static long BalancedBlocks(long tiles, long slots)
    {
        if (tiles <= 0 || slots <= 0) return Math.Max(tiles, 0);
        long rounds = (tiles + slots - 1) / slots;
        return (tiles + rounds - 1) / rounds;
    }

    /// <summary>Blocks of a launch of <paramref name="tiles"/> tiles (silu: the gate's) on <paramref name="kernel"/>.</summary>
    public static long Blocks(Kernel kernel, long tiles, int multiprocessors) => kernel switch
    {
        Kernel.M3 or Kernel.M2 => BalancedBlocks(tiles, (long)BlocksPerMultiprocessor(kernel) * multiprocessors),
        _ => tiles,
    };

    /// <summary>
    /// The kernel of a plain G6 launch of 1-8 rows: Main when off or out of range (k not whole stages, 0 or more than 8
    /// rows); else <paramref name="forced"/> where it applies (M3/M2 need every warp to take the same stages, k a
    /// multiple of 1,024, else their one-tile form); else W4D3 where the grid fits one wave at 3 blocks an SM (the 14B
    /// ffn_down: 320 tiles at k = 17,408; session 8 took 8 warps there), else S4 (the lm_head: 9,496 tiles).
    /// H100 (k4_harness, µs, m = 1 / 8): ffn_down session 10 (8 warps at 1-4 rows, else 4) 35.4 / 41.1, S4 36.4 / 37.2,
    /// W4D3 31.8 / 35.4, W4D2 37.1 / 40.6; lm_head at m = 1: session 10 217.4, S4 217.3, M3 235.1, M2 226.6. Through the
    /// backend (G6dTiming): ffn_down 34.0 / 37.9 → W4D3 31.2 / 35.0; lm_head 221.3 → S4 221.3.
    /// </summary>
    public static Kernel ChoosePlain(bool enabled, long tiles, int k, int rows, int multiprocessors, Kernel? forced)
    {
        if (!enabled || rows is < 1 or > 8 || k <= 0 || k % StageK != 0 || tiles < 1 || multiprocessors <= 0) return Kernel.Main;
        bool sameStages = k % (Warps * StageK) == 0;
        if (forced is { } f && f != Kernel.Main) return f is Kernel.M3 or Kernel.M2 && !sameStages ? f == Kernel.M3 ? Kernel.W4D3 : Kernel.W4D2 : f;
        return tiles <= 3L * multiprocessors ? Kernel.W4D3 : Kernel.S4;
    }

    /// <summary>
    /// The fused K4 gate|up + SiLU at 1-8 rows: M3 (the stream running through a range of gate and up tiles a block, one
    /// wave) where every warp takes the same stages (k a multiple of 1,024), or <paramref name="forced"/> M2 or Main there;
    /// Main = session 10's rule (<see cref="CudaQuantK4Decode.ChooseSilu"/>) otherwise. H100, the 14B gate|up (k4_harness,
    /// µs): m = 1 session 10's W4D2 45.9, S4 45.6, M3 43.8, M2 54.4; m = 8 S4 49.7, W4D2 53.6, M3 47.6, M2 58.5. Through
    /// the backend (G6dTiming, 2 copies): m = 1 45.4 → 45.05, m = 8 48.8 → 48.8; in GgufStepTiming's layers (4 copies)
    /// 47.2 → 45.3 (2-7 rows not measured).
    /// </summary>
    public static Kernel ChooseK4Silu(bool enabled, int k, int rows, Kernel? forced)
    {
        if (!enabled || rows is < 1 or > 8 || k <= 0 || k % (Warps * StageK) != 0) return Kernel.Main;
        return forced is Kernel.M2 or Kernel.Main ? forced.Value : Kernel.M3;
    }

    /// <summary>HEARTH_CUDA_G6_NEW: "0" keeps session 10's kernels; anything else (or unset) takes this session's.</summary>
    public static bool ParseSetting(string? value) => value != "0";

    /// <summary>HEARTH_CUDA_G6_KERNEL / HEARTH_CUDA_K4_SILU_M: "main", "s4", "w4d3", "w4d2", "m3" or "m2"; anything else: the rule.</summary>
    public static Kernel? ParseForced(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "main" => Kernel.Main,
        "s4" => Kernel.S4,
        "w4d3" => Kernel.W4D3,
        "w4d2" => Kernel.W4D2,
        "m3" => Kernel.M3,
        "m2" => Kernel.M2,
        _ => null,
    };
}
