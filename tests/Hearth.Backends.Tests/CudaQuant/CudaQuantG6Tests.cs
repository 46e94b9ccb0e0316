using Hearth.Backends.Cuda;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// The compact Q6_K layout (CudaQuantG6): the tiles must decode to exactly the weights Q6_K's own decoder gives
/// (bit for bit, padding rows zero), take the file's 210 bytes per 256 weights, and the kernels' operand recipe
/// (shift, mask, magic number, bf16 fma by 1 and −160) read through mma.m16n8k16's fragment layouts must compute
/// x·Wᵀ of those weights, so a wrong shift or index fails here in CI rather than only on the GPU.
/// </summary>
public sealed unsafe class CudaQuantG6Tests
{
    private const int BlockBytes = 210;

    [Theory]
    [InlineData(19, 512)]
    [InlineData(16, 256)]
    [InlineData(3, 1280)]
    public void TilesDecodeToTheQ6KWeightsBitForBit(int rows, int k)
    {
        var raw = RandomQ6K(rows, k, seed: rows * 31 + k);
        int rowBytes = k / 256 * BlockBytes;
        fixed (byte* p = raw)
        {
            var host = QuantizedMatrix.Gguf(WeightFormat.Q6_K, rows, k, new Tensor((nint)p, DType.U8, new Shape(rows, rowBytes)));
            int tiles = CudaQuantTiles.PaddedRows(rows) / 16;
            var expected = new float[k];
            var actual = new float[k];
            for (int tile = 0; tile < tiles; tile++)
            {
                var (data, parameters) = Pack(host, tile);
                for (int r = 0; r < 16; r++)
                {
                    int row = tile * 16 + r;
                    if (row < rows) GgufBlockCodec.Dequantize(GgufTensorType.Q6_K, raw.AsSpan(row * rowBytes, rowBytes), expected);
                    else Array.Clear(expected);
                    CudaQuantG6.DequantizeRow(data, parameters, k, r, actual);
                    for (int i = 0; i < k; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || expected[i] == actual[i],
                            $"row {row} k {i}: Q6_K {expected[i]}, G6 {actual[i]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1024, 5120)]
    [InlineData(5120, 17408)]
    [InlineData(151936, 5120)]
    public void TakesTheFilesBytesPerWeight(int rows, int k)
    {
        long fileBytes = (long)rows * k / 256 * BlockBytes;
        long gpuBytes = CudaQuantG6.SizeBytes(rows, k);
        Assert.InRange(gpuBytes - fileBytes, 0, 255);   // only the alignment of the params
        Assert.Equal(0.8203, (double)gpuBytes / rows / k, 3);
        // The G8 repack it replaces: an int8 a weight and an f16 (scale, offset) per 16.
        Assert.Equal(1.25, (double)rows * k * (1 + 4.0 / 16) / rows / k, 3);
    }

    [Fact]
    public void KernelOperandsThroughTheMmaFragmentsComputeXTimesW()
    {
        const int Rows = 13, K = 512, Columns = 3;
        var raw = RandomQ6K(Rows, K, seed: 5);
        var random = new Random(9);
        var x = new float[Columns, K];
        for (int c = 0; c < Columns; c++)
            for (int i = 0; i < K; i++) x[c, i] = Bf16((uint)BitConverter.SingleToUInt32Bits((float)(random.NextDouble() * 2 - 1)) >> 16);
        fixed (byte* p = raw)
        {
            var host = QuantizedMatrix.Gguf(WeightFormat.Q6_K, Rows, K, new Tensor((nint)p, DType.U8, new Shape(Rows, K / 256 * BlockBytes)));
            var (data, parameters) = Pack(host, 0);
            var weights = new float[K];
            for (int r = 0; r < Rows; r++)
            {
                GgufBlockCodec.Dequantize(GgufTensorType.Q6_K, raw.AsSpan(r * (K / 256 * BlockBytes), K / 256 * BlockBytes), weights);
                for (int c = 0; c < Columns; c++)
                {
                    double direct = 0;
                    for (int i = 0; i < K; i++) direct += (double)weights[i] * x[c, i];
                    double emulated = EmulateKernel(data, parameters, K, r, c, x);
                    Assert.Equal(direct, emulated, 1e-9 * (1 + Math.Abs(direct)) * 1e3);
                }
            }
        }
    }

    // gemv_kquant6.cu for one output (row, column): per k-tile the A registers built by q6_operand placed at PTX's A
    // fragment positions (a0: row g, MMA k 2t..2t+1; a1: row g+8; a2: row g, k 2t+8..; a3: row g+8, k 2t+8..), B from
    // the kernel's x load (lane (g, t) reads x[g][16·kt + 4t .. +3] as b0 = k 4t, 4t+1, b1 = k 4t+2, 4t+3) at PTX's B
    // positions (b0: MMA k 2t..2t+1, column g; b1: k 2t+8..), the MMA's sum, then the int8 scale and d.
    private static double EmulateKernel(byte[] data, byte[] parameters, int k, int row, int column, float[,] x)
    {
        double total = 0;
        for (int sb = 0; sb < k / 256; sb++)
        {
            var p = parameters.AsSpan(sb * CudaQuantG6.ParamBytes, CudaQuantG6.ParamBytes);
            double d = (double)BitConverter.ToHalf(p.Slice(256 + 2 * row, 2));
            double superSum = 0;
            for (int j = 0; j < 16; j++)
            {
                int kt = sb * 16 + j;
                var a = new double[16, 16];   // [row][MMA k]
                var b = new double[16];       // [MMA k] of this column
                for (int lane = 0; lane < 32; lane++)
                {
                    int g = lane >> 2, t = lane & 3;
                    uint lo = BitConverter.ToUInt32(data, CudaQuantG6.LowWordOffset(lane, kt));
                    uint hi = BitConverter.ToUInt32(data, CudaQuantG6.HighWordOffset(lane, kt));
                    for (int i = 0; i < 4; i++)
                    {
                        uint reg = Operand(lo, hi, i, kt & 1);
                        int r = g + (i & 1) * 8, mk = 2 * t + (i >> 1) * 8;
                        a[r, mk] = Bf16(reg & 0xFFFF);
                        a[r, mk + 1] = Bf16(reg >> 16);
                    }
                    if (g == column)
                    {
                        b[2 * t] = x[column, 16 * kt + 4 * t];
                        b[2 * t + 1] = x[column, 16 * kt + 4 * t + 1];
                        b[2 * t + 8] = x[column, 16 * kt + 4 * t + 2];
                        b[2 * t + 9] = x[column, 16 * kt + 4 * t + 3];
                    }
                }
                double mma = 0;
                for (int mk = 0; mk < 16; mk++) mma += a[row, mk] * b[mk];
                superSum += (sbyte)p[16 * row + j] * mma;
            }
            total += d * superSum;
        }
        return total;
    }

    // q6_operand<I, PARITY>: the pair at bits 8·parity + 2i moved to bits 4-5 of each half, the nibble at 4i, magic 0x4300
    // (bf16 128 + q), then fma.rn.bf16x2(v, 1, −160) = q − 32 (exact: small integers).
    private static uint Operand(uint lo, uint hi, int i, int parity)
    {
        int shift = 8 * parity + 2 * i - 4;
        uint h = shift >= 0 ? hi >> shift : hi << -shift;
        uint v = ((lo >> (4 * i)) & 0x000F000Fu) | (h & 0x00300030u) | 0x43004300u;
        float l = Bf16(v & 0xFFFF) - 160f, u = Bf16(v >> 16) - 160f;
        Assert.True(l >= -32 && l <= 31 && u >= -32 && u <= 31);
        return (BitConverter.SingleToUInt32Bits(l) >> 16) | (BitConverter.SingleToUInt32Bits(u) & 0xFFFF0000u);
    }

    private static float Bf16(uint bits) => BitConverter.UInt32BitsToSingle(bits << 16);

    private static (byte[] Data, byte[] Params) Pack(QuantizedMatrix host, int tile)
    {
        var data = new byte[CudaQuantG6.TileDataBytes(host.InFeatures)];
        var parameters = new byte[CudaQuantG6.TileParamBytes(host.InFeatures)];
        CudaQuantG6.PackTile(host, tile, data, parameters);
        return (data, parameters);
    }

    private static byte[] RandomQ6K(int rows, int k, int seed)
    {
        var random = new Random(seed);
        int rowBytes = k / 256 * BlockBytes;
        var raw = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
        {
            var values = Enumerable.Range(0, k).Select(_ => (float)(random.NextDouble() * 0.3 - 0.12) * (1 + r % 4)).ToArray();
            GgufBlockCodec.Quantize(GgufTensorType.Q6_K, values, raw.AsSpan(r * rowBytes, rowBytes));
        }
        return raw;
    }
}
