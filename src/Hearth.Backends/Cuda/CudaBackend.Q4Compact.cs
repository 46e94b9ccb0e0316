using Hearth.Core;

namespace Hearth.Backends.Cuda;

// GGUF Q4_K in its compact GPU layout (CudaQuantK4: 0.578 byte a weight instead of G4's 0.625, and the file's own d, dmin,
// scales and mins instead of rounded f16 products): the upload, and the dispatch of every op that reads it to
// gemv_kquant6.cu (decode GEMV, fused gate|up + SiLU, Q4_K|Q6_K mixes), gemm_quant.cu (17-64 rows) and
// gemv_quant_dequant.cu (prefill, embedding rows).
public sealed unsafe partial class CudaBackend
{
    private nint _k4Gemv, _k4GemvW8, _k4Silu, _k4g6Mixed, _k4g6MixedFast, _k4Dequant;
    private readonly nint[] _k4NewKernels = new nint[6];   // by CudaQuantK4Decode.Kernel (Main unused)
    private nint _k4SiluFast;

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
    /// Session 10's K4 decode kernels (gemv_kquant4.cu, and gemv_k4g6_stream_fast for Q4_K|Q6_K q|k|v): the same values bit
    /// for bit with fewer instructions a weight and a deeper stream (<see cref="CudaQuantK4Decode"/>). HEARTH_CUDA_K4_NEW=0:
    /// main's kernels, for A/B timing.
    /// </summary>
    public bool UseK4New { get; set; } = CudaQuantK4Decode.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_K4_NEW"));

    /// <summary>"w4d2", "w4d3", "w8d2", "s4" or "s8": that new kernel for every plain K4 decode launch (HEARTH_CUDA_K4_KERNEL); null = the rule.</summary>
    public string? K4NewKernel { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_K4_KERNEL");

    /// <summary>"w4d2": the fused K4 gate|up + SiLU on gemv_k4n_w4d2 where it fits (HEARTH_CUDA_K4_SILU); else the rule's S4.</summary>
    public string? K4NewSiluKernel { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_K4_SILU");

    /// <summary>Launches of session 10's K4 kernels (plain, SiLU-fused, mixed q|k|v) so far.</summary>
    public long NumK4NewLaunches { get; private set; }

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
        _k4g6MixedFast = Function("gemv_k4g6_stream_fast");
        LoadModule(CudaQuantK4Decode.ModuleName);
        foreach (var kernel in Enum.GetValues<CudaQuantK4Decode.Kernel>())
            if (kernel != CudaQuantK4Decode.Kernel.Main) _k4NewKernels[(int)kernel] = Function(CudaQuantK4Decode.KernelName(kernel));
        _k4SiluFast = Function(CudaQuantK4Decode.SiluS4Name);
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
    private void RunK4Gemv(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        long tiles = CudaQuantTiles.Tiles(first.OutFeatures, parts[1]?.OutFeatures ?? 0, parts[2]?.OutFeatures ?? 0);
        var forced = CudaQuantK4Decode.ParseForced(K4NewKernel);
        bool severalParts = parts[1] is not null;
        if (CudaQuantK4Decode.ChoosePlain(UseK4New, tiles, first.InFeatures, 1, _device.NumMultiprocessors, forced, severalParts) == CudaQuantK4Decode.Kernel.Main)
        {
            NumK4Launches += RunSuperBlockGemv(CudaQuantFamily.K4, parts, x, rows, outSlice, ldOut, outputF32, _k4Gemv, _k4GemvW8);
            return;
        }
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0, k = first.InFeatures;
        int outF32 = outputF32 ? 1 : 0, chunkRows = 0, silu = 0;
        nint chunkX = 0, chunkOut = 0;
        // S4/S8 (gemv_kquant6.cu's signature) take the first 15: the driver reads as many as the kernel has.
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &chunkX, &chunkRows, &chunkOut, &ldOut, &outF32, &silu };
        for (int start = 0; start < rows; start += QuantStreamMaxRows)
        {
            chunkRows = Math.Min(QuantStreamMaxRows, rows - start);
            var kernel = CudaQuantK4Decode.ChoosePlain(true, tiles, k, chunkRows, _device.NumMultiprocessors, forced, severalParts);
            chunkX = x + (nint)((long)start * k * 2);
            chunkOut = outSlice + (nint)(start * ldOut * (outputF32 ? 4 : 2));
            Launch(_k4NewKernels[(int)kernel], (uint)tiles, 1, 32 * (uint)CudaQuantK4Decode.Warps(kernel), 0, args);
            NumK4Launches++;
            NumK4NewLaunches++;
        }
    }

    /// <summary>
    /// gate|up + SiLU·mul through gemv_silu_k4_stream_fast (S4) or gemv_k4n_w4d2 with silu = 1: false where
    /// <see cref="CudaQuantK4Decode.ChooseSilu"/> says Main.
    /// </summary>
    private bool TryK4NewSilu(CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!SuperBlockSiluRows(gate, input, output, out int rows)) return false;
        var stream = CudaQuantG6Decode.ChooseK4Silu(UseG6New && UseK4New, gate.InFeatures, rows, CudaQuantG6Decode.ParseForced(K4SiluStreamKernel));
        if (stream != CudaQuantG6Decode.Kernel.Main)
        {
            // Session 11 (CudaBackend.Q6Compact.cs): the stream through a range of gate and up tiles a block, one wave.
            long gateTiles = CudaQuantTiles.PaddedRows(gate.OutFeatures) / CudaQuantTiles.TileRows;
            ReadOnlySpan<CudaQuantPart?> pair = [gate, up, null];
            LaunchSuperBlockStream(stream == CudaQuantG6Decode.Kernel.M3 ? _k4StreamM3 : _k4StreamM2, pair, input.Data, rows, output.Data, gate.OutFeatures,
                outputF32: false, silu: true, CudaQuantG6Decode.Blocks(stream, gateTiles, _device.NumMultiprocessors));
            NumQuantSiluLaunches++;
            NumK4NewLaunches++;
            NumG6NewLaunches++;
            return true;
        }
        var kernel = CudaQuantK4Decode.ChooseSilu(UseK4New, gate.InFeatures, rows, CudaQuantK4Decode.ParseForced(K4NewSiluKernel));
        if (kernel == CudaQuantK4Decode.Kernel.Main) return false;
        if (kernel == CudaQuantK4Decode.Kernel.S4) LaunchSuperBlockSilu(_k4SiluFast, gate, up, input, output, rows);
        else
        {
            nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, d2 = 0, p2 = 0, x = input.Data, outPtr = output.Data;
            int inter = gate.OutFeatures, n0 = inter, n1 = inter, n2 = 0, k = gate.InFeatures, outF32 = 0, silu = 1;
            long ldOut = inter;
            void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &x, &rows, &outPtr, &ldOut, &outF32, &silu };
            Launch(_k4NewKernels[(int)kernel], (uint)(CudaQuantTiles.PaddedRows(inter) / CudaQuantTiles.TileRows), 1,
                32 * (uint)CudaQuantK4Decode.Warps(kernel), 0, args);
            NumQuantSiluLaunches++;
        }
        NumK4NewLaunches++;
        return true;
    }

    /// <summary>gate|up both K4 (Q4_K_M keeps them Q4_K on every layer) at 1-8 rows: gemv_silu_k4_stream.</summary>
    private bool TryK4Silu(CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!TryK4NewSilu(gate, up, input, output) && !TrySuperBlockSilu(_k4Silu, gate, up, input, output)) return false;   // CudaBackend.SuperBlockTiles.cs
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
        nint kernel = UseG6New ? UseK4New ? _k4g6MixedFastG6f : _k4g6MixedG6f : UseK4New ? _k4g6MixedFast : _k4g6Mixed;
        LaunchMixedSuperBlock(kernel, parts, input, weight, output, rows);
        if (UseK4New) NumK4NewLaunches++;
        if (UseG6New) NumG6NewLaunches++;
        NumG6Launches++;
        NumK4Launches++;
        return true;
    }
}
