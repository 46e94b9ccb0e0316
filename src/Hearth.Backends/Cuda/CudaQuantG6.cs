using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cuda;

/// <summary>
/// The compact GPU layout of GGUF Q6_K (<see cref="CudaQuantFamily.G6"/>): 0.8203 byte a weight, exactly the file's
/// 210 bytes per 256, against the 1.25 of the G8 repack. Rows in tiles of 16 (the last padded with zero weights), and
/// inside a tile the register order of mma.sync.m16n8k16's A operand, as in <see cref="CudaQuantTiles"/>: lane
/// L = 4g + t covers rows g and g + 8 at k offsets 4t..4t+3 of each 16-wide k-tile.
/// <list type="bullet">
/// <item>Data, per tile, in units of 64 k (4 k-tiles, 768 bytes): first the 4-bit plane (32 lanes × 16 bytes: lane
/// L's word j is k-tile j's low nibbles exactly as a G4 word: bits 4i..4i+3 and 16+4i..16+4i+3 are A register i's two
/// values), then the 2-bit plane (32 lanes × 8 bytes: word w holds k-tiles 2w and 2w + 1; the high bit pair of
/// register i, half h of k-tile j sits at bits 8·(j &amp; 1) + 2i + 16h). So a kernel builds register i as
/// (lo &gt;&gt; 4i) &amp; 0x000F000F | (hi shifted to bits 4-5) &amp; 0x00300030 | 0x43004300: the bf16 pair 128 + q, q = 0..63.</item>
/// <item>Params, per tile and per 256-k super-block (288 bytes): the int8 sub-block scales [16 rows][16 k-tiles]
/// (row r's 16 bytes together), then the f16 d of each row [16]. w = d·scale·(q − 32), as Q6_K defines it.</item>
/// </list>
/// Data of all tiles first, then params (256-byte aligned), in one allocation.
/// </summary>
internal static class CudaQuantG6
{
    /// <summary>Weights along k in one super-block: Q6_K's, and the unit of the params.</summary>
    public const int SuperBlock = 256;

    /// <summary>k per data unit and the unit's bytes in a tile (512 of 4-bit plane, 256 of 2-bit plane).</summary>
    public const int UnitK = 64, UnitBytes = 768, LowPlaneBytes = 512;

    /// <summary>Param bytes per tile and super-block: 256 int8 scales, 16 f16 d.</summary>
    public const int ParamBytes = 288;

    public static long TileDataBytes(int inFeatures) => (long)inFeatures / UnitK * UnitBytes;

    public static long TileParamBytes(int inFeatures) => (long)inFeatures / SuperBlock * ParamBytes;

    /// <summary>Device bytes of a matrix in this layout (data, alignment padding, params).</summary>
    public static long SizeBytes(int outFeatures, int inFeatures) =>
        CudaQuantTiles.SizeBytes(outFeatures, TileDataBytes(inFeatures), TileParamBytes(inFeatures));

    /// <summary>Where the params start: after every tile's data, rounded up to 256 bytes.</summary>
    public static long ParamsOffset(int outFeatures, int inFeatures) => CudaQuantTiles.ParamsOffset(outFeatures, TileDataBytes(inFeatures));

    /// <summary>
    /// Packs one tile (rows 16·tile onward, fewer at the end) of a host Q6_K matrix straight from its blocks.
    /// <paramref name="data"/>: <see cref="TileDataBytes"/>; <paramref name="parameters"/>: <see cref="TileParamBytes"/>.
    /// </summary>
    public static unsafe void PackTile(QuantizedMatrix host, int tile, Span<byte> data, Span<byte> parameters)
    {
        if (host.Format != WeightFormat.Q6_K) throw new ArgumentException($"{host.Format} is not Q6_K");
        int k = host.InFeatures, row0 = tile * CudaQuantTiles.TileRows;
        int rows = Math.Min(CudaQuantTiles.TileRows, host.OutFeatures - row0);
        int blockBytes = host.Format.GgufBlockBytes();
        data.Clear();
        parameters.Clear();
        Span<byte> q = stackalloc byte[SuperBlock];
        for (int r = 0; r < rows; r++)
        {
            var raw = new ReadOnlySpan<byte>((byte*)host.Data.Data + (long)(row0 + r) * host.RowBytes, (int)host.RowBytes);
            for (int b = 0; b < k / SuperBlock; b++)
            {
                var block = raw.Slice(b * blockBytes, blockBytes);
                Unpack(block, q);
                var p = parameters.Slice(b * ParamBytes, ParamBytes);
                block.Slice(192, 16).CopyTo(p.Slice(16 * r, 16));
                p[256 + 2 * r] = block[208];
                p[257 + 2 * r] = block[209];
                for (int i = 0; i < SuperBlock; i++) Place(data, r, b * SuperBlock + i, q[i]);
            }
        }
    }

    /// <summary>The 6-bit values (0..63) of one Q6_K block in k order.</summary>
    public static void Unpack(ReadOnlySpan<byte> block, Span<byte> q)
    {
        for (int i = 0; i < SuperBlock; i++)
        {
            int h = i / 128;
            var (ql, nibble, pair) = Q6KCodec.Position(i % 128);
            q[i] = (byte)(((block[64 * h + ql] >> nibble) & 0xF) | (((block[128 + 32 * h + i % 32] >> pair) & 3) << 4));
        }
    }

    /// <summary>Byte offset in a tile's data of lane L's word for k-tile kt: the 4-bit plane's, or the 2-bit plane's.</summary>
    public static int LowWordOffset(int lane, int kt) => kt / 4 * UnitBytes + lane * 16 + kt % 4 * 4;

    public static int HighWordOffset(int lane, int kt) => kt / 4 * UnitBytes + LowPlaneBytes + lane * 8 + kt % 4 / 2 * 4;

    /// <summary>(lane, A register i, half h) of weight (rowInTile, k within its k-tile): the layout's fragment position.</summary>
    public static (int Lane, int Register, int Half) Fragment(int rowInTile, int kInTile)
    {
        int g = rowInTile & 7, high = rowInTile >> 3, t = kInTile / 4, e = kInTile % 4;
        return (4 * g + t, 2 * (e >> 1) + high, e & 1);
    }

    private static void Place(Span<byte> data, int rowInTile, int k, int q)
    {
        int kt = k / CudaQuantTiles.KTile;
        var (lane, i, h) = Fragment(rowInTile, k % CudaQuantTiles.KTile);
        int lowBit = 4 * i + 16 * h, highBit = 8 * (kt & 1) + 2 * i + 16 * h;
        OrWord(data, LowWordOffset(lane, kt), (uint)(q & 0xF) << lowBit);
        OrWord(data, HighWordOffset(lane, kt), (uint)(q >> 4) << highBit);
    }

    private static void OrWord(Span<byte> data, int offset, uint bits)
    {
        uint word = BitConverter.ToUInt32(data.Slice(offset, 4)) | bits;
        BitConverter.TryWriteBytes(data.Slice(offset, 4), word);
    }

    /// <summary>The 6-bit value of weight (rowInTile, k) read back from a tile's data, as the kernels read it.</summary>
    public static int ValueAt(ReadOnlySpan<byte> data, int rowInTile, int k)
    {
        int kt = k / CudaQuantTiles.KTile;
        var (lane, i, h) = Fragment(rowInTile, k % CudaQuantTiles.KTile);
        uint low = BitConverter.ToUInt32(data.Slice(LowWordOffset(lane, kt), 4)), high = BitConverter.ToUInt32(data.Slice(HighWordOffset(lane, kt), 4));
        return (int)((low >> (4 * i + 16 * h)) & 0xF) | (int)((high >> (8 * (kt & 1) + 2 * i + 16 * h)) & 3) << 4;
    }

    /// <summary>
    /// Decodes row <paramref name="rowInTile"/> of one tile on the host as the dequantize kernel does:
    /// d·scale·(q − 32) in F32, in Q6_K's own order of operations (so it equals <see cref="Q6KCodec"/> bit for bit).
    /// </summary>
    public static void DequantizeRow(ReadOnlySpan<byte> data, ReadOnlySpan<byte> parameters, int inFeatures, int rowInTile, Span<float> output)
    {
        for (int k = 0; k < inFeatures; k++)
        {
            var p = parameters.Slice(k / SuperBlock * ParamBytes, ParamBytes);
            float d = (float)BitConverter.ToHalf(p.Slice(256 + 2 * rowInTile, 2));
            int scale = (sbyte)p[16 * rowInTile + k % SuperBlock / 16];
            output[k] = d * scale * (ValueAt(data, rowInTile, k) - 32);
        }
    }
}
