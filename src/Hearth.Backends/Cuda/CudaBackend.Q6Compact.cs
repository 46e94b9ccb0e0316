using Hearth.Core;

namespace Hearth.Backends.Cuda;

// GGUF Q6_K in its compact GPU layout (CudaQuantG6: 0.82 byte a weight instead of G8's 1.25): the upload, and the
// dispatch of every op that reads it to gemv_kquant6.cu (decode GEMV, fused gate|up + SiLU, Q4_K|Q6_K mixes),
// gemm_quant.cu (17-64 rows) and gemv_quant_dequant.cu (prefill, embedding rows).
public sealed unsafe partial class CudaBackend
{
    private const string KQuant6Module = "gemv_kquant6.cu";
    private nint _g6Gemv, _g6GemvW8, _g6Silu, _g4g6Mixed, _g6Dequant;
    private nint _g6GemvFast, _g6SiluFast, _g6StreamD3, _g6StreamD2, _k4StreamM3, _k4StreamM2, _k4g6MixedG6f, _k4g6MixedFastG6f;

    /// <summary>
    /// Session 11's G6 decode kernels and the K4 gate|up stream (<see cref="CudaQuantG6Decode"/>): the same values bit for
    /// bit with fewer instructions a weight and deeper streams. HEARTH_CUDA_G6_NEW=0: session 10's kernels, for A/B timing.
    /// </summary>
    public bool UseG6New { get; set; } = CudaQuantG6Decode.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_G6_NEW"));

    /// <summary>"s4", "w4d3", "w4d2", "m3" or "m2": that kernel for every plain G6 decode launch (HEARTH_CUDA_G6_KERNEL); null = the rule.</summary>
    public string? G6NewKernel { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_G6_KERNEL");

    /// <summary>"m3", "m2" or "main": the fused K4 gate|up's stream kernel (HEARTH_CUDA_K4_SILU_M); null = the rule.</summary>
    public string? K4SiluStreamKernel { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_K4_SILU_M");

    /// <summary>Launches of session 11's kernels (G6 plain, SiLU-fused and mixed; the K4 gate|up stream) so far.</summary>
    public long NumG6NewLaunches { get; private set; }

    /// <summary>
    /// Warps a tile in the G6 GEMV: 4 or 8 (HEARTH_CUDA_G6_WARPS); null = <see cref="G6WarpsFor"/>'s rule.
    /// </summary>
    public int? G6Warps { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_G6_WARPS") switch { "4" => 4, "8" => 8, _ => null };

    /// <summary>
    /// 8 warps a tile for launches of few tiles (at most 4 an SM) and a long k (≥ 8192: ffn_down, 320 tiles at k = 17,408)
    /// at 1-4 rows, where 4 warps a block keep too few loads in flight; 4 elsewhere. Session 8 on the H100 (the 14B
    /// ffn_down, µs): 1 row 34.4 with 8 warps against 37.5 with 4; 8 rows 42.7 against 38.4 (2-7 rows not measured).
    /// </summary>
    internal static int G6WarpsFor(long tiles, int k, int rows, int multiprocessors, int? forced) =>
        forced ?? (tiles <= 4L * multiprocessors && k >= 8192 && rows <= 4 ? 8 : 4);

    /// <summary>
    /// Upload Q6_K in the compact G6 layout (HEARTH_CUDA_Q6K_COMPACT=0: the older G8 repack, 1.25 bytes a weight, for A/B
    /// timing). Read at each upload, so a process can hold matrices of both.
    /// </summary>
    public bool UseCompactQ6K { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_Q6K_COMPACT") != "0";

    /// <summary>Launches of the G6 kernels so far (GEMV, SiLU-fused, mixed), so checks can tell the path ran.</summary>
    public long NumG6Launches { get; private set; }

    private void LoadG6Functions()
    {
        // Compiled here (first quantized model only) or taken from the kernel cache.
        LoadModule(KQuant6Module);
        _g6Gemv = Function("gemv_g6_stream");
        _g6GemvW8 = Function("gemv_g6_stream_w8");
        _g6Silu = Function("gemv_silu_g6_stream");
        _g4g6Mixed = Function("gemv_g4g6_stream");
        _g6Dequant = Function("dequant_g6_bf16");
        LoadK4Functions();   // compact Q4_K, the same module (CudaBackend.Q4Compact.cs)
        _g6GemvFast = Function("gemv_g6_stream_fast");
        _g6SiluFast = Function("gemv_silu_g6_stream_fast");
        _k4g6MixedG6f = Function("gemv_k4g6_stream_g6f");
        _k4g6MixedFastG6f = Function("gemv_k4g6_stream_fast_g6f");
        _g6StreamD3 = Function(CudaQuantG6Decode.KernelName(CudaQuantG6Decode.Kernel.W4D3, g6: true));   // gemv_kquant4.cu, loaded by LoadK4Functions
        _g6StreamD2 = Function(CudaQuantG6Decode.KernelName(CudaQuantG6Decode.Kernel.W4D2, g6: true));
        _k4StreamM3 = Function(CudaQuantG6Decode.KernelName(CudaQuantG6Decode.Kernel.M3, g6: false));
        _k4StreamM2 = Function(CudaQuantG6Decode.KernelName(CudaQuantG6Decode.Kernel.M2, g6: false));
    }

    private QuantizedMatrix UploadG6(QuantizedMatrix host)
    {
        int k = host.InFeatures;
        if (k % CudaQuantG6.SuperBlock != 0) throw new HearthException($"the CUDA backend needs Q6_K rows in multiples of {CudaQuantG6.SuperBlock} weights, got {k}");
        return UploadSuperBlockTiles(host, CudaQuantFamily.G6, 16, CudaQuantG6.TileDataBytes(k), CudaQuantG6.TileParamBytes(k), CudaQuantG6.PackTile);
    }

    /// <summary>Up to three G6 parts in one launch per 8 rows (the kernel's MMA N); 9-16 rows (below the GEMM) take two.</summary>
    private void RunG6Gemv(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        long tiles = CudaQuantTiles.Tiles(first.OutFeatures, parts[1]?.OutFeatures ?? 0, parts[2]?.OutFeatures ?? 0);
        var forced = CudaQuantG6Decode.ParseForced(G6NewKernel);
        int sms = _device.NumMultiprocessors, k = first.InFeatures;
        if (CudaQuantG6Decode.ChoosePlain(UseG6New, tiles, k, 1, sms, forced) == CudaQuantG6Decode.Kernel.Main)
        {
            NumG6Launches += RunSuperBlockGemv(CudaQuantFamily.G6, parts, x, rows, outSlice, ldOut, outputF32, _g6Gemv, _g6GemvW8);
            return;
        }
        for (int start = 0; start < rows; start += QuantStreamMaxRows)
        {
            int chunkRows = Math.Min(QuantStreamMaxRows, rows - start);
            var kernel = CudaQuantG6Decode.ChoosePlain(true, tiles, k, chunkRows, sms, forced);
            nint function = kernel switch
            {
                CudaQuantG6Decode.Kernel.S4 => _g6GemvFast,
                CudaQuantG6Decode.Kernel.W4D3 or CudaQuantG6Decode.Kernel.M3 => _g6StreamD3,
                _ => _g6StreamD2,
            };
            LaunchSuperBlockStream(function, parts, x + (nint)((long)start * k * 2), chunkRows, outSlice + (nint)(start * ldOut * (outputF32 ? 4 : 2)),
                ldOut, outputF32, silu: false, CudaQuantG6Decode.Blocks(kernel, tiles, sms));
            NumG6Launches++;
            NumG6NewLaunches++;
        }
    }

    // gemv_kquant6.cu's Q6_WARPS (the SiLU and mixed kernels, and gemv_g6_stream).
    private const uint G6BlockWarps = 4;

    /// <summary>gate|up both G6 (an all-Q6_K model; Q4_K_M keeps them Q4_K) at 1-8 rows: gemv_silu_g6_stream.</summary>
    private bool TryG6Silu(CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!TrySuperBlockSilu(UseG6New ? _g6SiluFast : _g6Silu, gate, up, input, output)) return false;
        if (UseG6New) NumG6NewLaunches++;
        NumG6Launches++;
        return true;
    }

    /// <summary>
    /// Whether fused parts are a G4 (groups of 32: Q4_K, Q4_0) and G6 mix that gemv_g4g6_stream serves in one launch:
    /// two or three unpermuted parts of one k (a multiple of 256), at least one of each family.
    /// </summary>
    internal static bool MixedG6Fits(ReadOnlySpan<CudaQuantPart> parts) =>
        MixedSuperBlockFits(parts, p => p.Family == CudaQuantFamily.G4 && p.GroupSize == 32);

    /// <summary>
    /// Serve Q4_K_M's Q4_K|Q4_K|Q6_K q|k|v on the compact layout in one launch (HEARTH_CUDA_G6_MIXED=0: q|k as one g4
    /// launch, then v alone, for A/B timing).
    /// </summary>
    public bool UseMixedG6Gemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_G6_MIXED") != "0";

    private bool TryMixedG6Gemv(ReadOnlySpan<CudaQuantPart> parts, Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        if (!UseMixedG6Gemv || !MixedG6Fits(parts)) return false;
        LaunchMixedSuperBlock(_g4g6Mixed, parts, input, weight, output, rows);
        NumG6Launches++;
        return true;
    }
}
