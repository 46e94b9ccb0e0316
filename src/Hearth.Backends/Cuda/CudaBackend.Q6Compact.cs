using Hearth.Core;

namespace Hearth.Backends.Cuda;

// GGUF Q6_K in its compact GPU layout (CudaQuantG6: 0.82 byte a weight instead of G8's 1.25): the upload, and the
// dispatch of every op that reads it to gemv_kquant6.cu (decode GEMV, fused gate|up + SiLU, Q4_K|Q6_K mixes),
// gemm_quant.cu (17-64 rows) and gemv_quant_dequant.cu (prefill, embedding rows).
public sealed unsafe partial class CudaBackend
{
    private const string KQuant6Module = "gemv_kquant6.cu";
    private nint _g6Gemv, _g6GemvW8, _g6Silu, _g4g6Mixed, _g6Dequant;

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
    }

    private QuantizedMatrix UploadG6(QuantizedMatrix host)
    {
        int outFeatures = host.OutFeatures, k = host.InFeatures;
        if (k % CudaQuantG6.SuperBlock != 0) throw new HearthException($"the CUDA backend needs Q6_K rows in multiples of {CudaQuantG6.SuperBlock} weights, got {k}");
        int numTiles = CudaQuantTiles.PaddedRows(outFeatures) / CudaQuantTiles.TileRows;
        long tileData = CudaQuantG6.TileDataBytes(k), tileParams = CudaQuantG6.TileParamBytes(k);
        long paramsOffset = CudaQuantG6.ParamsOffset(outFeatures, k);
        long totalBytes = Math.Max(host.Data.SizeBytes, CudaQuantG6.SizeBytes(outFeatures, k));
        var buffer = CudaBuffer.Allocate(_device, totalBytes);
        _weights.Add(buffer);
        nint dataPtr = buffer.Data, paramsPtr = buffer.Data + (nint)paramsOffset;
        int slabTiles = (int)Math.Clamp((16L << 20) / tileData, 1, numTiles);
        var slabData = new byte[slabTiles * tileData];
        var slabParams = new byte[slabTiles * tileParams];
        for (int start = 0; start < numTiles; start += slabTiles)
        {
            int count = Math.Min(slabTiles, numTiles - start);
            Parallel.For(0, count, i => CudaQuantG6.PackTile(host, start + i,
                slabData.AsSpan((int)(i * tileData), (int)tileData), slabParams.AsSpan((int)(i * tileParams), (int)tileParams)));
            fixed (byte* d = slabData) CopyBytesToDevice(d, dataPtr + (nint)(start * tileData), count * tileData);
            fixed (byte* p = slabParams) CopyBytesToDevice(p, paramsPtr + (nint)(start * tileParams), count * tileParams);
            _device.Synchronize();
        }
        Register(new CudaQuantPart(CudaQuantFamily.G6, host.Format, outFeatures, k, dataPtr, paramsPtr, 16, 1, 0, 0, totalBytes));
        return QuantizedMatrix.Gguf(host.Format, outFeatures, k, new Tensor(dataPtr, DType.U8, host.Data.Shape));
    }

    /// <summary>Up to three G6 parts in one launch per 8 rows (the kernel's MMA N); 9-16 rows (below the GEMM) take two.</summary>
    private void RunG6Gemv(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0, k = first.InFeatures;
        int outF32 = outputF32 ? 1 : 0, chunkRows = 0;
        long tiles = CudaQuantTiles.Tiles(n0, n1, n2);
        nint chunkX = 0, chunkOut = 0;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &chunkX, &chunkRows, &chunkOut, &ldOut, &outF32 };
        for (int start = 0; start < rows; start += QuantStreamMaxRows)
        {
            chunkRows = Math.Min(QuantStreamMaxRows, rows - start);
            int warps = G6WarpsFor(tiles, k, chunkRows, _device.NumMultiprocessors, G6Warps);
            chunkX = x + (nint)((long)start * k * 2);
            chunkOut = outSlice + (nint)(start * ldOut * (outputF32 ? 4 : 2));
            Launch(warps == 8 ? _g6GemvW8 : _g6Gemv, (uint)tiles, 1, 32 * (uint)warps, 0, args);
            NumG6Launches++;
        }
    }

    // gemv_kquant6.cu's Q6_WARPS (the SiLU and mixed kernels, and gemv_g6_stream).
    private const uint G6BlockWarps = 4;

    /// <summary>gate|up both G6 (an all-Q6_K model; Q4_K_M keeps them Q4_K) at 1-8 rows: gemv_silu_g6_stream.</summary>
    private bool TryG6Silu(CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!TrySuperBlockSilu(_g6Silu, gate, up, input, output)) return false;
        NumG6Launches++;
        return true;
    }

    /// <summary>
    /// gate|up of one 256-k super-block family (G6, K4) through its SiLU kernel (Q6_WARPS warps a block, the gate's
    /// tiles): false when the shape does not fit it (k not whole super-blocks, more than 8 rows, unaligned input).
    /// </summary>
    private bool TrySuperBlockSilu(nint kernel, CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        int k = gate.InFeatures, inter = gate.OutFeatures;
        long rowsLong = input.NumElements / k;
        if (k % CudaQuantG6.SuperBlock != 0 || rowsLong < 1 || rowsLong > QuantStreamMaxRows || rowsLong * k != input.NumElements
            || output.NumElements != rowsLong * inter || input.Data % 16 != 0) return false;
        nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, x = input.Data, outPtr = output.Data;
        int n = inter, rows = (int)rowsLong;
        void** args = stackalloc void*[] { &d0, &p0, &d1, &p1, &n, &k, &x, &rows, &outPtr };
        Launch(kernel, (uint)(CudaQuantTiles.PaddedRows(inter) / 16), 1, 32 * G6BlockWarps, 0, args);
        NumQuantSiluLaunches++;
        return true;
    }

    /// <summary>
    /// Whether fused parts are a G4 (groups of 32: Q4_K, Q4_0) and G6 mix that gemv_g4g6_stream serves in one launch:
    /// two or three unpermuted parts of one k (a multiple of 256), at least one of each family.
    /// </summary>
    internal static bool MixedG6Fits(ReadOnlySpan<CudaQuantPart> parts) =>
        MixedSuperBlockFits(parts, p => p.Family == CudaQuantFamily.G4 && p.GroupSize == 32);

    /// <summary>
    /// Two or three unpermuted parts of one k (a multiple of 256), at least one G6 and at least one of the 4-bit family
    /// the mixed kernel reads (<paramref name="isFourBit"/>), and nothing else.
    /// </summary>
    private static bool MixedSuperBlockFits(ReadOnlySpan<CudaQuantPart> parts, Func<CudaQuantPart, bool> isFourBit)
    {
        if (parts.Length is < 2 or > 3 || parts[0].InFeatures % CudaQuantG6.SuperBlock != 0) return false;
        bool fourBit = false, g6 = false;
        foreach (var part in parts)
        {
            if (part.Permutation != 0 || part.InFeatures != parts[0].InFeatures) return false;
            if (part.Family == CudaQuantFamily.G6) g6 = true;
            else if (isFourBit(part)) fourBit = true;
            else return false;
        }
        return fourBit && g6;
    }

    /// <summary>
    /// Serve Q4_K_M's Q4_K|Q4_K|Q6_K q|k|v on the compact layout in one launch (HEARTH_CUDA_G6_MIXED=0: q|k as one g4
    /// launch, then v alone, for A/B timing).
    /// </summary>
    public bool UseMixedG6Gemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_G6_MIXED") != "0";

    private bool TryMixedG6Gemv(ReadOnlySpan<CudaQuantPart> parts, Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        if (!UseMixedG6Gemv || !MixedG6Fits(parts)) return false;
        nint d0 = parts[0].Data, p0 = parts[0].Params, d1 = parts[1].Data, p1 = parts[1].Params;
        nint d2 = parts.Length > 2 ? parts[2].Data : 0, p2 = parts.Length > 2 ? parts[2].Params : 0;
        int n0 = parts[0].OutFeatures, n1 = parts[1].OutFeatures, n2 = parts.Length > 2 ? parts[2].OutFeatures : 0;
        int k = parts[0].InFeatures, g6Mask = 0;
        for (int i = 0; i < parts.Length; i++) if (parts[i].Family == CudaQuantFamily.G6) g6Mask |= 1 << i;
        nint x = input.Data, outPtr = output.Data;
        int m = rows, outF32 = output.DType == DType.F32 ? 1 : 0;
        long ldOut = weight.OutFeatures;
        long tiles = CudaQuantTiles.Tiles(n0, n1, n2);
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &g6Mask, &x, &m, &outPtr, &ldOut, &outF32 };
        Launch(_g4g6Mixed, (uint)tiles, 1, 32 * G6BlockWarps, 0, args);
        NumMixedKQuantLaunches++;
        NumG6Launches++;
        return true;
    }
}
