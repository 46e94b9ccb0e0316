using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cuda;

/// <summary>
/// The compact GPU layout of GGUF Q4_K (<see cref="CudaQuantFamily.K4"/>): 0.578 byte a weight against the 0.625 of the
/// G4 repack (whose f16 scale d·sc and offset −dmin·m per 32 were rounded products), and the file's 0.5625.
/// <list type="bullet">
/// <item>Data: exactly G4's tiles (<see cref="CudaQuantTiles"/>): rows in tiles of 16 (the last padded with zero
/// weights), per 64 k 32 lanes × 16 bytes; lane L = 4g + t's word j holds k-tile j's 4-bit values at bits 4i..4i+3 and
/// 16+4i..16+4i+3 for A register i of mma.m16n8k16, so the kernels' operand (w &gt;&gt; 4i) &amp; 0x000F000F | 0x43004300
/// (bf16 128 + q) stays.</item>
/// <item>Params, per tile and 256-k super-block (320 bytes): [16 rows][16 bytes] with row r's 8 six-bit sub-block scales
/// then its 8 mins (one byte each, as Q4_K's 12 packed bytes decode), then [16 rows] (f16 d, f16 dmin), the file's own
/// values. w = d·sc·q − dmin·m in F32, as <see cref="KQuantCodec"/> decodes it: (d·sc)·q − (dmin·m), no fused multiply-add.</item>
/// </list>
/// Data of all tiles first, then params (256-byte aligned), in one allocation.
/// </summary>
internal static class CudaQuantK4
{
    /// <summary>Weights along k in one super-block: Q4_K's, and the unit of the params.</summary>
    public const int SuperBlock = 256;

    /// <summary>Weights a scale and a min cover (Q4_K's sub-block).</summary>
    public const int SubBlock = 32;

    /// <summary>Param bytes per tile and super-block: 16 rows × (8 scales + 8 mins), then 16 rows × (f16 d, f16 dmin).</summary>
    public const int ParamBytes = 320, DminOffset = 256;

    public static long TileDataBytes(int inFeatures) => CudaQuantTiles.TileBytes(CudaQuantFamily.G4, inFeatures);

    public static long TileParamBytes(int inFeatures) => (long)inFeatures / SuperBlock * ParamBytes;

    /// <summary>Device bytes of a matrix in this layout (data, alignment padding, params).</summary>
    public static long SizeBytes(int outFeatures, int inFeatures) =>
        CudaQuantTiles.SizeBytes(outFeatures, TileDataBytes(inFeatures), TileParamBytes(inFeatures));

    /// <summary>Where the params start: after every tile's data, rounded up to 256 bytes.</summary>
    public static long ParamsOffset(int outFeatures, int inFeatures) => CudaQuantTiles.ParamsOffset(outFeatures, TileDataBytes(inFeatures));

    /// <summary>
    /// Packs one tile (rows 16·tile onward, fewer at the end) of a host Q4_K matrix straight from its blocks.
    /// <paramref name="data"/>: <see cref="TileDataBytes"/>; <paramref name="parameters"/>: <see cref="TileParamBytes"/>.
    /// </summary>
    public static unsafe void PackTile(QuantizedMatrix host, int tile, Span<byte> data, Span<byte> parameters)
    {
        if (host.Format != WeightFormat.Q4_K) throw new ArgumentException($"{host.Format} is not Q4_K");
        int k = host.InFeatures, row0 = tile * CudaQuantTiles.TileRows;
        int rows = Math.Min(CudaQuantTiles.TileRows, host.OutFeatures - row0);
        int blockBytes = host.Format.GgufBlockBytes();
        data.Clear();
        parameters.Clear();
        for (int r = 0; r < rows; r++)
        {
            var raw = new ReadOnlySpan<byte>((byte*)host.Data.Data + (long)(row0 + r) * host.RowBytes, (int)host.RowBytes);
            for (int b = 0; b < k / SuperBlock; b++)
            {
                var block = raw.Slice(b * blockBytes, blockBytes);
                var p = parameters.Slice(b * ParamBytes, ParamBytes);
                var packed = block.Slice(4, 12);
                for (int s = 0; s < 8; s++)
                {
                    var (scale, min) = KQuantCodec.ScaleMin(packed, s);
                    p[16 * r + s] = (byte)scale;
                    p[16 * r + 8 + s] = (byte)min;
                }
                block[..4].CopyTo(p.Slice(DminOffset + 4 * r, 4));   // f16 d, f16 dmin
                var qs = block.Slice(16, 128);
                for (int i = 0; i < SuperBlock; i++)
                {
                    int s = i / SubBlock, l = i % SubBlock;
                    int q = (qs[32 * (s / 2) + l] >> (4 * (s & 1))) & 0xF;
                    Place(data, r, b * SuperBlock + i, q);
                }
            }
        }
    }

    /// <summary>Byte offset in a tile's data of lane L's word for k-tile kt (G4's tile order).</summary>
    public static int WordOffset(int lane, int kt) => (kt / 4 * 32 + lane) * 16 + kt % 4 * 4;

    private static void Place(Span<byte> data, int rowInTile, int k, int q)
    {
        var (lane, i, h) = CudaQuantG6.Fragment(rowInTile, k % CudaQuantTiles.KTile);
        int offset = WordOffset(lane, k / CudaQuantTiles.KTile);
        uint word = BitConverter.ToUInt32(data.Slice(offset, 4)) | (uint)q << (4 * i + 16 * h);
        BitConverter.TryWriteBytes(data.Slice(offset, 4), word);
    }

    /// <summary>The 4-bit value of weight (rowInTile, k) read back from a tile's data, as the kernels read it.</summary>
    public static int ValueAt(ReadOnlySpan<byte> data, int rowInTile, int k)
    {
        var (lane, i, h) = CudaQuantG6.Fragment(rowInTile, k % CudaQuantTiles.KTile);
        return (int)(BitConverter.ToUInt32(data.Slice(WordOffset(lane, k / CudaQuantTiles.KTile), 4)) >> (4 * i + 16 * h)) & 0xF;
    }

    /// <summary>(scale, min, d, dmin) of row <paramref name="rowInTile"/>'s sub-block holding weight k, from a tile's params.</summary>
    public static (int Scale, int Min, float D, float Dmin) ParamsAt(ReadOnlySpan<byte> parameters, int rowInTile, int k)
    {
        var p = parameters.Slice(k / SuperBlock * ParamBytes, ParamBytes);
        int sub = k % SuperBlock / SubBlock;
        return (p[16 * rowInTile + sub], p[16 * rowInTile + 8 + sub],
            (float)BitConverter.ToHalf(p.Slice(DminOffset + 4 * rowInTile, 2)), (float)BitConverter.ToHalf(p.Slice(DminOffset + 4 * rowInTile + 2, 2)));
    }

    /// <summary>
    /// Decodes row <paramref name="rowInTile"/> of one tile on the host as the dequantize kernel does: (d·sc)·q − (dmin·m)
    /// in F32, each product rounded (so it equals <see cref="KQuantCodec"/>'s Q4_K decode bit for bit).
    /// </summary>
    public static void DequantizeRow(ReadOnlySpan<byte> data, ReadOnlySpan<byte> parameters, int inFeatures, int rowInTile, Span<float> output)
    {
        for (int k = 0; k < inFeatures; k++)
        {
            var (scale, min, d, dmin) = ParamsAt(parameters, rowInTile, k);
            float ds = d * scale, ms = dmin * min;
            output[k] = ds * ValueAt(data, rowInTile, k) - ms;
        }
    }
}
