using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The two 256-k super-block families on the GPU, G6 (compact Q6_K, CudaBackend.Q6Compact.cs) and K4 (compact Q4_K,
// CudaBackend.Q4Compact.cs), share their upload (tile-major data, then each tile's params) and the launch shapes of
// their decode GEMV and mixed q|k|v kernels (gemv_kquant6.cu): only the packer, the kernels and the counters differ.
public sealed unsafe partial class CudaBackend
{
    private delegate void TilePacker(QuantizedMatrix host, int tile, Span<byte> data, Span<byte> parameters);

    /// <summary>
    /// Packs <paramref name="host"/> tile by tile on the CPU (in slabs of about 16 MiB) and uploads it: every tile's
    /// <paramref name="tileDataBytes"/>, then, 256-byte aligned, every tile's <paramref name="tileParamBytes"/>.
    /// </summary>
    private QuantizedMatrix UploadSuperBlockTiles(QuantizedMatrix host, CudaQuantFamily family, int groupSize, long tileDataBytes,
        long tileParamBytes, TilePacker pack)
    {
        int outFeatures = host.OutFeatures, k = host.InFeatures;
        int numTiles = CudaQuantTiles.PaddedRows(outFeatures) / CudaQuantTiles.TileRows;
        long paramsOffset = CudaQuantTiles.ParamsOffset(outFeatures, tileDataBytes);
        long totalBytes = Math.Max(host.Data.SizeBytes, CudaQuantTiles.SizeBytes(outFeatures, tileDataBytes, tileParamBytes));
        var buffer = CudaBuffer.Allocate(_device, totalBytes);
        _weights.Add(buffer);
        nint dataPtr = buffer.Data, paramsPtr = buffer.Data + (nint)paramsOffset;
        int slabTiles = (int)Math.Clamp((16L << 20) / tileDataBytes, 1, numTiles);
        var slabData = new byte[slabTiles * tileDataBytes];
        var slabParams = new byte[slabTiles * tileParamBytes];
        for (int start = 0; start < numTiles; start += slabTiles)
        {
            int count = Math.Min(slabTiles, numTiles - start);
            Parallel.For(0, count, i => pack(host, start + i,
                slabData.AsSpan((int)(i * tileDataBytes), (int)tileDataBytes), slabParams.AsSpan((int)(i * tileParamBytes), (int)tileParamBytes)));
            fixed (byte* d = slabData) CopyBytesToDevice(d, dataPtr + (nint)(start * tileDataBytes), count * tileDataBytes);
            fixed (byte* p = slabParams) CopyBytesToDevice(p, paramsPtr + (nint)(start * tileParamBytes), count * tileParamBytes);
            _device.Synchronize();
        }
        Register(new CudaQuantPart(family, host.Format, outFeatures, k, dataPtr, paramsPtr, groupSize, 1, 0, 0, totalBytes));
        return QuantizedMatrix.Gguf(host.Format, outFeatures, k, new Tensor(dataPtr, DType.U8, host.Data.Shape));
    }

    /// <summary>
    /// Up to three parts of one family (G6 or K4) in one launch per 8 rows (the kernels' MMA N; 9-16 rows take two),
    /// through the 8-warp kernel where the family's rule says 8. Returns the launches made.
    /// </summary>
    private int RunSuperBlockGemv(CudaQuantFamily family, ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut,
        bool outputF32, nint kernel4, nint kernel8)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0, k = first.InFeatures;
        int outF32 = outputF32 ? 1 : 0, chunkRows = 0, launches = 0;
        long tiles = CudaQuantTiles.Tiles(n0, n1, n2);
        nint chunkX = 0, chunkOut = 0;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &chunkX, &chunkRows, &chunkOut, &ldOut, &outF32 };
        for (int start = 0; start < rows; start += QuantStreamMaxRows)
        {
            chunkRows = Math.Min(QuantStreamMaxRows, rows - start);
            // K4 parts in one launch (q|k|v, gate|up) keep 4 warps: the fused gate|up + SiLU kernel must sum its tiles alike.
            int warps = family == CudaQuantFamily.G6 ? G6WarpsFor(tiles, k, chunkRows, _device.NumMultiprocessors, G6Warps)
                : parts[1] is null ? K4WarpsFor(tiles, k, chunkRows, _device.NumMultiprocessors, K4Warps) : 4;
            chunkX = x + (nint)((long)start * k * 2);
            chunkOut = outSlice + (nint)(start * ldOut * (outputF32 ? 4 : 2));
            Launch(warps == 8 ? kernel8 : kernel4, (uint)tiles, 1, 32 * (uint)warps, 0, args);
            launches++;
        }
        return launches;
    }

    /// <summary>
    /// One launch of a gemv_kquant4.cu stream kernel (16 arguments: the three parts, k, x, rows, out, ldOut, outF32, silu;
    /// S4's gemv_kquant6.cu kernels read the first 15) on <paramref name="blocks"/> blocks of 4 warps: the launch's tiles,
    /// or fewer, each block then a contiguous range. silu: parts are (gate, up), out bf16 [rows, gate's n].
    /// </summary>
    private void LaunchSuperBlockStream(nint kernel, ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outPtr, long ldOut, bool outputF32,
        bool silu, long blocks)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0, k = first.InFeatures;
        int outF32 = outputF32 ? 1 : 0, siluFlag = silu ? 1 : 0, m = rows;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &x, &m, &outPtr, &ldOut, &outF32, &siluFlag };
        Launch(kernel, (uint)blocks, 1, 32 * (uint)CudaQuantG6Decode.Warps, 0, args);
    }

    /// <summary>
    /// One launch of a mixed kernel (gemv_g4g6_stream, gemv_k4g6_stream) over parts of a 4-bit family and G6: bit i of
    /// its mask says part i is G6. The caller has checked the parts fit it.
    /// </summary>
    private void LaunchMixedSuperBlock(nint kernel, ReadOnlySpan<CudaQuantPart> parts, Tensor input, LinearWeight weight, Tensor output, int rows)
    {
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
        Launch(kernel, (uint)tiles, 1, 32 * G6BlockWarps, 0, args);
        NumMixedKQuantLaunches++;
    }

    /// <summary>
    /// gate|up of one 256-k super-block family (G6, K4) through its SiLU kernel (Q6_WARPS warps a block, the gate's
    /// tiles): false when the shape does not fit it (k not whole super-blocks, more than 8 rows, unaligned input).
    /// </summary>
    private bool TrySuperBlockSilu(nint kernel, CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output)
    {
        if (!SuperBlockSiluRows(gate, input, output, out int rows)) return false;
        LaunchSuperBlockSilu(kernel, gate, up, input, output, rows);
        return true;
    }

    /// <summary>The x rows of a super-block gate|up + SiLU launch: false unless k is whole super-blocks, there are 1-8 rows, the shapes agree and x is 16-byte aligned.</summary>
    private bool SuperBlockSiluRows(CudaQuantPart gate, Tensor input, Tensor output, out int rows)
    {
        int k = gate.InFeatures;
        long rowsLong = k > 0 ? input.NumElements / k : 0;
        rows = (int)Math.Min(rowsLong, int.MaxValue);
        return k % CudaQuantG6.SuperBlock == 0 && rowsLong >= 1 && rowsLong <= QuantStreamMaxRows && rowsLong * k == input.NumElements
            && output.NumElements == rowsLong * gate.OutFeatures && input.Data % 16 == 0;
    }

    // The SiLU kernels of gemv_kquant6.cu's signature: gate and up parts, n, k, x, rows, out; one block a gate tile.
    private void LaunchSuperBlockSilu(nint kernel, CudaQuantPart gate, CudaQuantPart up, Tensor input, Tensor output, int rows)
    {
        int k = gate.InFeatures, inter = gate.OutFeatures;
        nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, x = input.Data, outPtr = output.Data;
        int n = inter;
        void** args = stackalloc void*[] { &d0, &p0, &d1, &p1, &n, &k, &x, &rows, &outPtr };
        Launch(kernel, (uint)(CudaQuantTiles.PaddedRows(inter) / 16), 1, 32 * G6BlockWarps, 0, args);
        NumQuantSiluLaunches++;
    }

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
}
