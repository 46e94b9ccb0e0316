using Hearth.Core;

namespace Hearth.Backends.Cuda;

// GGUF Q4_K in its compact GPU layout (CudaQuantK4: 0.578 byte a weight instead of G4's 0.625, and the file's own d, dmin,
// scales and mins instead of rounded f16 products): the upload, and the dispatch of every op that reads it to
// gemv_kquant6.cu (decode GEMV, fused gate|up + SiLU, Q4_K|Q6_K mixes), gemm_quant.cu (17-64 rows) and
// gemv_quant_dequant.cu (prefill, embedding rows).
public sealed unsafe partial class CudaBackend
{
    private nint _k4Gemv, _k4GemvW8, _k4Silu, _k4g6Mixed, _k4Dequant;

    /// <summary>
    /// Upload Q4_K in the compact K4 layout (HEARTH_CUDA_Q4K_COMPACT=0: the older G4 repack, 0.625 byte a weight, for A/B
    /// timing). Read at each upload, so a process can hold matrices of both.
    /// </summary>
    public bool UseCompactQ4K { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_Q4K_COMPACT") != "0";

    /// <summary>Warps a tile in the K4 GEMV: 4 or 8 (HEARTH_CUDA_K4_WARPS); null = <see cref="K4WarpsFor"/>'s rule.</summary>
    public int? K4Warps { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_K4_WARPS") switch { "4" => 4, "8" => 8, _ => null };

    /// <summary>Launches of the K4 kernels so far (GEMV, SiLU-fused, mixed), so checks can tell the path ran.</summary>
    public long NumK4Launches { get; private set; }

    /// <summary>
    /// 8 warps a tile for launches of few tiles (at most 4 an SM) and a long k (≥ 8192: the 14B ffn_down, 320 tiles at
    /// k = 17,408) at 1-4 rows, where 4 warps a block keep too few loads in flight (G4 took the cp.async ring there; G6
    /// measured 8 warps faster, session 8); 4 elsewhere.
    /// </summary>
    internal static int K4WarpsFor(long tiles, int k, int rows, int multiprocessors, int? forced) =>
        forced ?? (tiles <= 4L * multiprocessors && k >= 8192 && rows <= 4 ? 8 : 4);

    // Called by LoadG6Functions: the K4 kernels live in the same module.
    private void LoadK4Functions()
    {
        _k4Gemv = Function("gemv_k4_stream");
        _k4GemvW8 = Function("gemv_k4_stream_w8");
        _k4Silu = Function("gemv_silu_k4_stream");
        _k4g6Mixed = Function("gemv_k4g6_stream");
        _k4Dequant = Function("dequant_k4_bf16");
        _quantKernels[CudaQuantFamily.K4] = (0, _k4Dequant, 0);
    }

    private QuantizedMatrix UploadK4(QuantizedMatrix host)
    {
        int k = host.InFeatures;
        if (k % CudaQuantK4.SuperBlock != 0) throw new HearthException($"the CUDA backend needs Q4_K rows in multiples of {CudaQuantK4.SuperBlock} weights, got {k}");
        return UploadSuperBlockTiles(host, CudaQuantFamily.K4, CudaQuantK4.SubBlock, CudaQuantK4.TileDataBytes(k), CudaQuantK4.TileParamBytes(k), CudaQuantK4.PackTile);
    }

    /// <summary>Up to three K4 parts in one launch per 8 rows (the kernel's MMA N); 9-16 rows (below the GEMM) take two.</summary>
    private void RunK4Gemv(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32) =>
        NumK4Launches += RunSuperBlockGemv(CudaQuantFamily.K4, parts, x, rows, outSlice, ldOut, outputF32, _k4Gemv, _k4GemvW8);

    /// <summary>gate|up both K4 (Q4_K_M keeps them Q4_K on every layer) at 1-8 rows: gemv_silu_k4_stream.</summary>
    private bool TryK4Silu(CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!TrySuperBlockSilu(_k4Silu, gate, up, input, output)) return false;   // CudaBackend.SuperBlockTiles.cs
        NumK4Launches++;
        return true;
    }

    /// <summary>
    /// Whether fused parts are a K4 and G6 mix that gemv_k4g6_stream serves in one launch (Q4_K_M's q|k|v with a Q6_K v):
    /// two or three unpermuted parts of one k (a multiple of 256), at least one of each family.
    /// </summary>
    internal static bool MixedK4Fits(ReadOnlySpan<CudaQuantPart> parts) => MixedSuperBlockFits(parts, p => p.Family == CudaQuantFamily.K4);

    private bool TryMixedK4Gemv(ReadOnlySpan<CudaQuantPart> parts, Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        if (!UseMixedG6Gemv || !MixedK4Fits(parts)) return false;
        LaunchMixedSuperBlock(_k4g6Mixed, parts, input, weight, output, rows);
        NumG6Launches++;
        NumK4Launches++;
        return true;
    }
}
