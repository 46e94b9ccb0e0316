using System.Buffers.Binary;
using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// gemm_quant.cu's A fragments, rebuilt on the host with the kernel's own shifts, masks, magic numbers and prmt
/// selectors from tiles that <see cref="CudaQuantTiles.Interleave"/> made, must hold exactly the weights
/// <see cref="CudaQuantTiles.ValueAt"/> reads back at the rows and k that PTX assigns to each lane and register
/// (m16n8k16 bf16 for g4/g8 after in-register dequantization; m16n8k32 e4m3 for W8A8).
/// </summary>
public sealed class QuantGemmFragmentTests
{
    [Theory]
    [InlineData(0)]   // CudaQuantFamily.G4
    [InlineData(1)]   // CudaQuantFamily.G8
    public void DequantizedRegistersHoldTheExactIntegerWeights(int familyNumber)
    {
        var family = (CudaQuantFamily)familyNumber;
        const int K = 128;
        var (tile, _) = RandomTile(family, K, seed: 3);
        int tilesPerLoad = CudaQuantTiles.TilesPerLoad(family), tileBytes = family == CudaQuantFamily.G4 ? 4 : 8;
        // g4 adds the group's integer zero point z = rint(offset / scale) exactly: z − 128 as the addend.
        foreach (int zero in family == CudaQuantFamily.G4 ? new[] { 0, -8, 7, -120 } : [0])
        for (int kt = 0; kt < K / 16; kt++)
            for (int lane = 0; lane < 32; lane++)
            {
                int g = lane >> 2, t = lane & 3, offset = ((kt / tilesPerLoad) * 32 + lane) * 16 + (kt % tilesPerLoad) * tileBytes;
                uint w0 = BinaryPrimitives.ReadUInt32LittleEndian(tile.AsSpan(offset)), w1 = tileBytes == 8 ? BinaryPrimitives.ReadUInt32LittleEndian(tile.AsSpan(offset + 4)) : 0;
                for (int r = 0; r < 4; r++)
                {
                    // The kernel: lo = (w0 >> 4r) & mask | magic; g4 q + z = fma(lo, 1, z - 128); g8 q = fma(lo, 1, fma(hi, 16, -2304)).
                    uint lo = ((w0 >> (4 * r)) & 0x000F000Fu) | 0x43004300u;
                    uint q = family == CudaQuantFamily.G4 ? Fma2(lo, 0x3F803F80u, Bf16Pair(zero - 128))
                        : Fma2(lo, 0x3F803F80u, Fma2(((w1 >> (4 * r)) & 0x000F000Fu) | 0x43004300u, 0x41804180u, 0xC510C510u));
                    // Register r: row g (r even) or g + 8 (odd); k 4t, 4t+1 (r < 2) or 4t+2, 4t+3; low half first.
                    int row = g + 8 * (r & 1), k = kt * 16 + 4 * t + 2 * (r >> 1);
                    int expectLow = CudaQuantTiles.ValueAt(family, K, tile, row, k), expectHigh = CudaQuantTiles.ValueAt(family, K, tile, row, k + 1);
                    Assert.Equal(expectLow + zero, Bf16(q & 0xFFFF));
                    Assert.Equal(expectHigh + zero, Bf16(q >> 16));
                }
            }
    }

    [Fact]
    public void W8A8RegistersFollowTheK32FragmentLayout()
    {
        const int K = 128;
        var (tile, _) = RandomTile(CudaQuantFamily.F8, K, seed: 5);
        for (int load = 0; load < K / 32; load++)
            for (int lane = 0; lane < 32; lane++)
            {
                int g = lane >> 2, t = lane & 3, offset = (load * 32 + lane) * 16;
                uint x = Word(tile, offset), y = Word(tile, offset + 4), z = Word(tile, offset + 8), w = Word(tile, offset + 12);
                uint[] a = [Prmt(x, y, 0x5410), Prmt(x, y, 0x7632), Prmt(z, w, 0x5410), Prmt(z, w, 0x7632)];
                for (int r = 0; r < 4; r++)
                    for (int e = 0; e < 4; e++)
                    {
                        // m16n8k32 A: register r holds row g (r = 0, 2) or g + 8 (1, 3), k 4t + e (+ 16 for r ≥ 2).
                        int row = g + 8 * (r & 1), k = load * 32 + 16 * (r >> 1) + 4 * t + e;
                        Assert.Equal(CudaQuantTiles.ValueAt(CudaQuantFamily.F8, K, tile, row, k), (int)((a[r] >> (8 * e)) & 0xFF));
                    }
            }
    }

    private static (byte[] Tile, byte[] RowMajor) RandomTile(CudaQuantFamily family, int k, int seed)
    {
        var random = new Random(seed);
        var rowMajor = new byte[16 * CudaQuantLayout.DataRowBytes(family, k)];
        random.NextBytes(rowMajor);
        var tile = new byte[CudaQuantTiles.TileBytes(family, k)];
        CudaQuantTiles.Interleave(family, k, 16, rowMajor, tile);
        return (tile, rowMajor);
    }

    private static uint Word(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));

    // PTX prmt.b32 (default mode): byte i of the result is byte (selector >> 4i) & 7 of {b, a} (a = bytes 0-3).
    private static uint Prmt(uint a, uint b, uint selector)
    {
        ulong both = a | (ulong)b << 32;
        uint result = 0;
        for (int i = 0; i < 4; i++) result |= (uint)((both >> (int)(8 * ((selector >> (4 * i)) & 7))) & 0xFF) << (8 * i);
        return result;
    }

    private static uint Bf16Pair(int value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value) >> 16;
        return bits | bits << 16;
    }

    private static float Bf16(uint bits) => BitConverter.UInt32BitsToSingle(bits << 16);

    // fma.rn.bf16x2 on values whose exact result is a bf16 (small integers here): computed in double, then truncated.
    private static uint Fma2(uint a, uint b, uint c)
    {
        uint Half(int shift)
        {
            double r = (double)Bf16((a >> shift) & 0xFFFF) * Bf16((b >> shift) & 0xFFFF) + Bf16((c >> shift) & 0xFFFF);
            uint bits = BitConverter.SingleToUInt32Bits((float)r);
            Assert.Equal(0u, bits & 0xFFFF);   // exact in bf16: nothing to round
            return bits >> 16;
        }
        return Half(0) | Half(16) << 16;
    }
}
