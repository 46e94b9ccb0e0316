using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// The tensor-core tile layout (CudaQuantTiles) holds every weight exactly once where gemv_quant.cu looks for it,
/// and the kernel's arithmetic (magic-number operands, MMA fragments as PTX defines m16n8k16, the per-group fold
/// of scales, offsets and the biases the magic numbers add) gives x·Wᵀ. The MMA is emulated here on the host
/// from the kernel's own register recipes, so a slip in a shift, a mask, a bias or a fragment index fails in CI.
/// </summary>
public sealed class CudaQuantTilesTests
{
    // Family 0 = G4, 1 = G8, 2 = F8 (CudaQuantFamily is internal).
    [Theory]
    [InlineData(0, 128)]
    [InlineData(1, 96)]
    [InlineData(2, 96)]
    public void EveryWeightSitsWhereTheKernelReadsIt(int familyIndex, int k)
    {
        var family = (CudaQuantFamily)familyIndex;
        const int Rows = 13;
        var random = new Random(3);
        var (rowMajor, values) = RandomRows(family, Rows, k, random);
        var tile = new byte[CudaQuantTiles.TileBytes(family, k)];
        CudaQuantTiles.Interleave(family, k, Rows, rowMajor, tile);
        for (int r = 0; r < CudaQuantTiles.TileRows; r++)
            for (int i = 0; i < k; i++)
            {
                int expected = r < Rows ? values[r, i] : family == CudaQuantFamily.G8 ? -128 : 0;
                Assert.Equal(expected, CudaQuantTiles.ValueAt(family, k, tile, r, i));
            }
    }

    [Fact]
    public void ParamsAreStoredGroupMajorWithZerosForPaddingRows()
    {
        const int Rows = 5, Groups = 3;
        var rowMajor = Enumerable.Range(1, Rows * Groups).Select(i => (uint)i).ToArray();
        var tile = new uint[Groups * CudaQuantTiles.TileRows];
        CudaQuantTiles.InterleaveParams(Groups, Rows, rowMajor, tile);
        for (int grp = 0; grp < Groups; grp++)
            for (int r = 0; r < CudaQuantTiles.TileRows; r++)
                Assert.Equal(r < Rows ? rowMajor[r * Groups + grp] : 0u, tile[grp * CudaQuantTiles.TileRows + r]);
    }

    [Theory]
    [InlineData(0, 32, 3)]
    [InlineData(0, 128, 1)]
    [InlineData(1, 16, 8)]
    [InlineData(1, 32, 11)]
    [InlineData(2, 64, 2)]
    public void EmulatedKernelArithmeticGivesTheProduct(int familyIndex, int group, int batch)
    {
        var family = (CudaQuantFamily)familyIndex;
        const int Rows = 16, K = 256;
        var random = new Random(17 + group + batch);
        var (rowMajor, values) = RandomRows(family, Rows, K, random);
        int groups = K / group;
        var scales = new float[Rows, groups];
        var offsets = new float[Rows, groups];
        var tileParams = new uint[groups * Rows];
        for (int r = 0; r < Rows; r++)
            for (int g = 0; g < groups; g++)
            {
                // FP8 scales are per 128-row block: one per tile.
                scales[r, g] = family == CudaQuantFamily.F8 && r > 0 ? scales[0, g] : (float)(Half)(0.001 + random.NextDouble() * 0.01);
                offsets[r, g] = family == CudaQuantFamily.F8 ? 0f : (float)(Half)(random.NextDouble() * 0.02 - 0.01);
                tileParams[g * Rows + r] = BitConverter.HalfToUInt16Bits((Half)scales[r, g]) | (uint)BitConverter.HalfToUInt16Bits((Half)offsets[r, g]) << 16;
            }
        var x = new float[batch, K];
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < K; i++) x[n, i] = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle((float)(random.NextDouble() * 2 - 1)));
        var tile = new byte[CudaQuantTiles.TileBytes(family, K)];
        CudaQuantTiles.Interleave(family, K, Rows, rowMajor, tile);

        var actual = KernelEmulator.Run(family, tile, tileParams, scales, K, group, x, batch);
        for (int r = 0; r < Rows; r++)
            for (int n = 0; n < batch; n++)
            {
                double expected = 0;
                for (int i = 0; i < K; i++)
                {
                    double w = family == CudaQuantFamily.F8
                        ? Float8E4M3.ToSingle((byte)values[r, i]) * scales[r, i / group]
                        : values[r, i] * (double)scales[r, i / group] + offsets[r, i / group];
                    expected += w * x[n, i];
                }
                Assert.True(Math.Abs(actual[r, n] - expected) <= 1e-4 * (1 + Math.Abs(expected)), $"row {r} col {n}: {actual[r, n]} vs {expected}");
            }
    }

    [Fact]
    public void ShapesTheLayoutCannotTakeAreRefusedWithAOneLineReason()
    {
        // Only shapes are read: the tensors need no memory.
        static Tensor T(DType dtype, int rows, int columns) => new(0, dtype, new Shape(rows, columns));
        var int4Ok = QuantizedMatrix.Int4Group(8, 128, 64, T(DType.U8, 8, 64), T(DType.F32, 8, 2), null);
        var int4Row96 = QuantizedMatrix.Int4Group(8, 96, 32, T(DType.U8, 8, 48), T(DType.F32, 8, 3), null);
        var fp8Ok = QuantizedMatrix.Fp8Block(40, 96, 128, 128, T(DType.F8E4M3, 40, 96), T(DType.F32, 1, 1));
        var fp8Blocks8 = QuantizedMatrix.Fp8Block(40, 96, 8, 128, T(DType.F8E4M3, 40, 96), T(DType.F32, 5, 1));
        var q4_0 = QuantizedMatrix.Gguf(WeightFormat.Q4_0, 4, 96, T(DType.U8, 4, 54));
        Assert.Null(CudaQuantTiles.Unsupported(int4Ok));
        Assert.Null(CudaQuantTiles.Unsupported(fp8Ok));
        Assert.Contains("Int4Group rows in multiples of 64 weights", CudaQuantTiles.Unsupported(int4Row96));
        Assert.Contains("got 96 inputs", CudaQuantTiles.Unsupported(int4Row96));
        Assert.Contains("Q4_0 rows in multiples of 64 weights", CudaQuantTiles.Unsupported(q4_0));
        Assert.Contains("multiple of 16 rows, got 8", CudaQuantTiles.Unsupported(fp8Blocks8));
        Assert.DoesNotContain('\n', CudaQuantTiles.Unsupported(int4Row96)!);
    }

    // Row-major rows as CudaQuantLayout/the checkpoint holds them, and each weight's quantized value.
    private static (byte[] RowMajor, int[,] Values) RandomRows(CudaQuantFamily family, int rows, int k, Random random)
    {
        int rowBytes = (int)CudaQuantLayout.DataRowBytes(family, k);
        var data = new byte[rows * rowBytes];
        var values = new int[rows, k];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < k; i++)
            {
                if (family == CudaQuantFamily.G4)
                {
                    int q = random.Next(16);
                    data[r * rowBytes + i / 32 * 16 + i % 16] |= (byte)(i % 32 < 16 ? q : q << 4);
                    values[r, i] = q;
                }
                else if (family == CudaQuantFamily.G8)
                {
                    int q = random.Next(-128, 128);
                    data[r * rowBytes + i] = (byte)(sbyte)q;
                    values[r, i] = q;
                }
                else
                {
                    byte b = Float8E4M3.FromSingle((float)(random.NextDouble() * 800 - 400) * (i % 7 == 0 ? 1e-3f : 1f));
                    data[r * rowBytes + i] = b;
                    values[r, i] = b;
                }
            }
        return (data, values);
    }

    [Theory]
    [InlineData(5120, 1024, 1024, 448)]   // Qwen3-14B q|k|v
    [InlineData(160, 72, 41, 10 + 5 + 3)]  // each part padded to whole tiles on its own
    [InlineData(17, 0, 0, 2)]
    [InlineData(0, 0, 0, 0)]
    public void A_launch_has_each_parts_rows_padded_to_whole_tiles(int n0, int n1, int n2, long expected) =>
        Assert.Equal(expected, CudaQuantTiles.Tiles(n0, n1, n2));
}
