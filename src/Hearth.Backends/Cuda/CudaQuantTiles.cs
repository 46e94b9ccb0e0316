namespace Hearth.Backends.Cuda;

/// <summary>
/// The tensor-core layout of quantized weights on the GPU (gemv_quant.cu): rows in tiles of 16 (padded with
/// zeros), each tile's bytes in the register order of mma.sync.m16n8k16's A operand, so that lane L = 4g + t of a
/// warp gets, in one 16-byte load, its fragments for <see cref="TilesPerLoad"/> k-tiles of 16: rows g and g + 8 at
/// k offsets 4t..4t+3 of each. Made from the row-major layouts of <see cref="CudaQuantLayout"/>, 16 rows at a time.
/// <list type="bullet">
/// <item>G4, 4 bytes a k-tile: one word whose bits 4i..4i+3 and 16+4i..16+4i+3 are A register i's two
/// values: i = 0 row g, k 4t and 4t+1; 1 row g+8, the same k; 2 row g, k 4t+2 and 4t+3; 3 row g+8, those k.</item>
/// <item>G8, 8 bytes a k-tile: u = q + 128; the low nibbles of u as a G4 word, then the high nibbles.</item>
/// <item>F8, 8 bytes a k-tile: the e4m3 bytes of row g k 4t, 4t+1, row g+8 k 4t, 4t+1, row g k 4t+2, 4t+3,
/// row g+8 k 4t+2, 4t+3.</item>
/// </list>
/// G4/G8 params (one uint: f16 scale | f16 offset &lt;&lt; 16) become [tile][group][16 rows]; F8 scales stay as they are.
/// </summary>
internal static class CudaQuantTiles
{
    /// <summary>Rows in a tile: the MMA's M.</summary>
    public const int TileRows = 16;

    /// <summary>Weights along k in one MMA.</summary>
    public const int KTile = 16;

    /// <summary>k-tiles whose fragments share one 16-byte load per lane.</summary>
    public static int TilesPerLoad(CudaQuantFamily family) => family is CudaQuantFamily.G4 or CudaQuantFamily.K4 ? 4 : 2;

    /// <summary>k must be a multiple of this: whole 16-byte loads.</summary>
    public static int KMultiple(CudaQuantFamily family) => KTile * TilesPerLoad(family);

    /// <summary>Why a matrix cannot take this layout (a one-line message for the user), or null when it can.</summary>
    public static string? Unsupported(QuantizedMatrix host)
    {
        if (CudaQuantLayout.FamilyOf(host.Format) is not { } family)
            return $"the CUDA backend cannot run {host.Format} weights; use --device cpu for this model";
        if (family == CudaQuantFamily.G6 && host.InFeatures % CudaQuantG6.SuperBlock != 0)
            return $"the CUDA backend needs Q6_K rows in multiples of {CudaQuantG6.SuperBlock} weights, got {host.InFeatures} inputs";
        if (family == CudaQuantFamily.K4 && host.InFeatures % CudaQuantK4.SuperBlock != 0)
            return $"the CUDA backend needs Q4_K rows in multiples of {CudaQuantK4.SuperBlock} weights, got {host.InFeatures} inputs";
        int group = CudaQuantLayout.GroupSize(host), kMultiple = KMultiple(family);
        if (host.InFeatures % kMultiple != 0 || group % KTile != 0)
            return $"the CUDA backend needs {host.Format} rows in multiples of {kMultiple} weights and groups in multiples of {KTile}, got {host.InFeatures} inputs, group {group}";
        if (family == CudaQuantFamily.F8 && host.BlockRows % TileRows != 0)
            return $"the CUDA backend needs FP8 scale blocks of a multiple of {TileRows} rows, got {host.BlockRows}";
        return null;
    }

    public static int PaddedRows(int outFeatures) => (outFeatures + TileRows - 1) / TileRows * TileRows;

    /// <summary>16-row tiles of up to three fused parts (0 rows for an absent part): a decode GEMV launch's grid.</summary>
    public static long Tiles(int n0, int n1, int n2) => ((long)PaddedRows(n0) + PaddedRows(n1) + PaddedRows(n2)) / TileRows;

    /// <summary>
    /// Where the params of a tile-major layout with per-tile params after all the data (CudaQuantG6, CudaQuantK4) start:
    /// after every tile's <paramref name="tileDataBytes"/>, rounded up to 256 bytes.
    /// </summary>
    public static long ParamsOffset(int outFeatures, long tileDataBytes) => (PaddedRows(outFeatures) / TileRows * tileDataBytes + 255) / 256 * 256;

    /// <summary>Device bytes of such a layout: the data, its alignment padding, then every tile's <paramref name="tileParamBytes"/>.</summary>
    public static long SizeBytes(int outFeatures, long tileDataBytes, long tileParamBytes) =>
        ParamsOffset(outFeatures, tileDataBytes) + PaddedRows(outFeatures) / TileRows * tileParamBytes;

    /// <summary>Bytes of one 16-row tile of data.</summary>
    public static long TileBytes(CudaQuantFamily family, int inFeatures) => family == CudaQuantFamily.G4 ? 8L * inFeatures : 16L * inFeatures;

    /// <summary>
    /// Interleaves one tile: <paramref name="rowMajor"/> holds up to 16 rows (<paramref name="rows"/>) of the
    /// row-major layout (<see cref="CudaQuantLayout.DataRowBytes"/> each; F8: e4m3 bytes); missing rows become zeros.
    /// </summary>
    public static void Interleave(CudaQuantFamily family, int inFeatures, int rows, ReadOnlySpan<byte> rowMajor, Span<byte> tile)
    {
        int rowBytes = (int)CudaQuantLayout.DataRowBytes(family, inFeatures), tilesPerLoad = TilesPerLoad(family);
        int bytesPerKTile = family == CudaQuantFamily.G4 ? 4 : 8;
        for (int g = 0; g < 8; g++)
        {
            var rowLow = g < rows ? rowMajor.Slice(g * rowBytes, rowBytes) : default;
            var rowHigh = g + 8 < rows ? rowMajor.Slice((g + 8) * rowBytes, rowBytes) : default;
            for (int kt = 0; kt < inFeatures / KTile; kt++)
                for (int t = 0; t < 4; t++)
                {
                    var dst = tile.Slice(((kt / tilesPerLoad) * 32 + 4 * g + t) * 16 + (kt % tilesPerLoad) * bytesPerKTile, bytesPerKTile);
                    int k0 = kt * KTile + 4 * t;
                    if (family == CudaQuantFamily.F8)
                    {
                        for (int e = 0; e < 4; e++)
                        {
                            dst[4 * (e >> 1) + (e & 1)] = rowLow.IsEmpty ? (byte)0 : rowLow[k0 + e];
                            dst[2 + 4 * (e >> 1) + (e & 1)] = rowHigh.IsEmpty ? (byte)0 : rowHigh[k0 + e];
                        }
                        continue;
                    }
                    uint low = 0, high = 0;
                    for (int e = 0; e < 4; e++)
                    {
                        int shift = 8 * (e >> 1) + 16 * (e & 1);
                        int a = Value(family, rowLow, k0 + e), b = Value(family, rowHigh, k0 + e);
                        low |= (uint)(a & 0xF) << shift | (uint)(b & 0xF) << (shift + 4);
                        high |= (uint)(a >> 4) << shift | (uint)(b >> 4) << (shift + 4);
                    }
                    BitConverter.TryWriteBytes(dst, low);
                    if (family == CudaQuantFamily.G8) BitConverter.TryWriteBytes(dst[4..], high);
                }
        }
    }

    // G4: the nibble 0..15; G8: u = q + 128. A missing (padding) row is u = 0 with params 0: a zero weight.
    private static int Value(CudaQuantFamily family, ReadOnlySpan<byte> row, int k) =>
        row.IsEmpty ? 0 : family == CudaQuantFamily.G4 ? Nibble(row, k) : (byte)((sbyte)row[k] + 128);

    /// <summary>Params of one tile: row-major [rows][groups] into [groups][16]; missing rows get 0 (a zero weight).</summary>
    public static void InterleaveParams(int groups, int rows, ReadOnlySpan<uint> rowMajor, Span<uint> tile)
    {
        tile.Clear();
        for (int r = 0; r < rows; r++)
            for (int grp = 0; grp < groups; grp++) tile[grp * TileRows + r] = rowMajor[r * groups + grp];
    }

    /// <summary>
    /// The quantized value of weight (row <paramref name="rowInTile"/>, k) read back from a tile, as the kernels
    /// read it: G4 0..15, G8 the signed q, F8 the e4m3 byte.
    /// </summary>
    public static int ValueAt(CudaQuantFamily family, int inFeatures, ReadOnlySpan<byte> tile, int rowInTile, int k)
    {
        int tilesPerLoad = TilesPerLoad(family), bytesPerKTile = family == CudaQuantFamily.G4 ? 4 : 8;
        int g = rowInTile & 7, high = rowInTile >> 3, kt = k / KTile, t = k % KTile / 4, e = k % 4;
        int offset = ((kt / tilesPerLoad) * 32 + 4 * g + t) * 16 + (kt % tilesPerLoad) * bytesPerKTile;
        if (family == CudaQuantFamily.F8) return tile[offset + 2 * high + 4 * (e >> 1) + (e & 1)];
        int shift = 4 * high + 8 * (e >> 1) + 16 * (e & 1);
        int low = (int)(BitConverter.ToUInt32(tile.Slice(offset, 4)) >> shift) & 0xF;
        if (family == CudaQuantFamily.G4) return low;
        int highNibble = (int)(BitConverter.ToUInt32(tile.Slice(offset + 4, 4)) >> shift) & 0xF;
        return (low | highNibble << 4) - 128;
    }

    private static int Nibble(ReadOnlySpan<byte> row, int k)
    {
        // CudaQuantLayout's G4 rows: 32-weight chunks of 16 bytes, byte b = weight b (low) | weight 16 + b (high).
        byte packed = row[k / 32 * 16 + k % 16];
        return k % 32 < 16 ? packed & 0xF : packed >> 4;
    }
}
