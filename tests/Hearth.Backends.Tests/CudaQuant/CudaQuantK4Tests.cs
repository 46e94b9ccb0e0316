using Hearth.Backends.Cuda;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// The compact Q4_K layout (CudaQuantK4): its tiles must decode to exactly the weights Q4_K's own decoder gives (bit for
/// bit, padding rows zero), its 4-bit data must be G4's tiles byte for byte (so the MMA operand recipe is unchanged), it
/// must take 0.578 byte a weight, and the GEMV's arithmetic (kquant4.cuh: MMAs of 128 + q and of ones through
/// mma.m16n8k16's fragment layouts, folded by the bytes' scale and min and the f16 d and dmin) must compute x·Wᵀ, so a
/// wrong shift, index or fold fails here in CI rather than only on the GPU.
/// </summary>
public sealed unsafe class CudaQuantK4Tests
{
    private const int BlockBytes = 144;

    [Theory]
    [InlineData(19, 512)]
    [InlineData(16, 256)]
    [InlineData(3, 1280)]
    public void TilesDecodeToTheQ4KWeightsBitForBit(int rows, int k)
    {
        var raw = RandomQ4K(rows, k, seed: rows * 31 + k);
        int rowBytes = k / 256 * BlockBytes;
        fixed (byte* p = raw)
        {
            var host = Host(p, rows, k);
            var expected = new float[k];
            var actual = new float[k];
            for (int tile = 0; tile < CudaQuantTiles.PaddedRows(rows) / 16; tile++)
            {
                var (data, parameters) = Pack(host, tile);
                for (int r = 0; r < 16; r++)
                {
                    int row = tile * 16 + r;
                    if (row < rows) GgufBlockCodec.Dequantize(GgufTensorType.Q4_K, raw.AsSpan(row * rowBytes, rowBytes), expected);
                    else Array.Clear(expected);
                    CudaQuantK4.DequantizeRow(data, parameters, k, r, actual);
                    for (int i = 0; i < k; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || expected[i] == actual[i],
                            $"row {row} k {i}: Q4_K {expected[i]}, K4 {actual[i]}");
                }
            }
        }
    }

    [Fact]
    public void DataIsTheG4TilesByteForByte()
    {
        const int Rows = 21, K = 768;
        var raw = RandomQ4K(Rows, K, seed: 3);
        fixed (byte* p = raw)
        {
            var host = Host(p, Rows, K);
            int rowMajorBytes = K / 2 * 16;
            for (int tile = 0; tile < 2; tile++)
            {
                int rows = Math.Min(16, Rows - 16 * tile);
                var rowMajor = new byte[rowMajorBytes];
                var rowParams = new uint[16 * K / 32];
                CudaQuantLayout.PackRows(host, 16 * tile, rows, rowMajor, rowParams);
                var g4 = new byte[CudaQuantTiles.TileBytes(CudaQuantFamily.G4, K)];
                CudaQuantTiles.Interleave(CudaQuantFamily.G4, K, rows, rowMajor, g4);
                Assert.Equal(g4, Pack(host, tile).Data);
            }
        }
    }

    [Theory]
    [InlineData(5120, 5120)]
    [InlineData(5120, 17408)]
    [InlineData(151936, 5120)]
    public void TakesAbout0_578BytesPerWeight(int rows, int k)
    {
        long gpuBytes = CudaQuantK4.SizeBytes(rows, k);
        long expected = (long)rows * k / 2 + (long)rows / 16 * (k / 256) * 320;   // 4-bit data + 320 bytes a tile and super-block
        Assert.InRange(gpuBytes - expected, 0, 255);                                // only the alignment of the params
        Assert.Equal(0.578, (double)gpuBytes / rows / k, 3);
        Assert.True(gpuBytes < (long)rows * k * 5 / 8, "smaller than the G4 repack's 0.625 byte a weight");
        Assert.True(gpuBytes >= (long)rows * k / 256 * BlockBytes, "no smaller than the file");
    }

    [Fact]
    public void KernelArithmeticThroughTheMmaFragmentsComputesXTimesW()
    {
        const int Rows = 13, K = 512, Columns = 3;
        var raw = RandomQ4K(Rows, K, seed: 5);
        var random = new Random(9);
        var x = new float[Columns, K];
        for (int c = 0; c < Columns; c++)
            for (int i = 0; i < K; i++) x[c, i] = Bf16(BitConverter.SingleToUInt32Bits((float)(random.NextDouble() * 2 - 1)) >> 16);
        fixed (byte* p = raw)
        {
            var host = Host(p, Rows, K);
            var (data, parameters) = Pack(host, 0);
            var weights = new float[K];
            for (int r = 0; r < Rows; r++)
            {
                GgufBlockCodec.Dequantize(GgufTensorType.Q4_K, raw.AsSpan(r * (K / 256 * BlockBytes), K / 256 * BlockBytes), weights);
                for (int c = 0; c < Columns; c++)
                {
                    double direct = 0, magnitude = 0;
                    for (int i = 0; i < K; i++) { direct += (double)weights[i] * x[c, i]; magnitude += Math.Abs((double)weights[i] * x[c, i]); }
                    double emulated = EmulateKernel(data, parameters, K, r, c, x);
                    Assert.True(Math.Abs(direct - emulated) <= 1e-6 * magnitude + 1e-9, $"row {r} column {c}: direct {direct}, kernel {emulated}");
                }
            }
        }
    }

    // k4_compute for one output (row, column): per k-tile the A registers (w >> 4i) & 0x000F000F | 0x43004300 placed at
    // PTX's A fragment positions (a0: row g, MMA k 2t..2t+1; a1: row g+8; a2: row g, k 2t+8..; a3: row g+8, k 2t+8..), B
    // from the kernel's x load (lane (g, t): b0 = x k 4t, 4t+1 at MMA k 2t..; b1 = k 4t+2, 4t+3 at 2t+8..); per 32-k
    // sub-block G = Σ(128 + q)x and Σx (all-ones A), folded as sacc += sc·G, tacc += sc·Σx, macc += m·Σx; then per
    // super-block d·(sacc − 128·tacc) − dmin·macc.
    private static double EmulateKernel(byte[] data, byte[] parameters, int k, int row, int column, float[,] x)
    {
        double total = 0;
        for (int sb = 0; sb < k / 256; sb++)
        {
            double sacc = 0, tacc = 0, macc = 0;
            for (int f = 0; f < 8; f++)
            {
                double g = 0, sx = 0;
                for (int j = 0; j < 2; j++)
                {
                    int kt = sb * 16 + 2 * f + j;
                    var a = new double[16, 16];
                    var b = new double[16];
                    for (int lane = 0; lane < 32; lane++)
                    {
                        int gg = lane >> 2, t = lane & 3;
                        uint word = BitConverter.ToUInt32(data, CudaQuantK4.WordOffset(lane, kt));
                        for (int i = 0; i < 4; i++)
                        {
                            uint reg = ((word >> (4 * i)) & 0x000F000Fu) | 0x43004300u;
                            int r = gg + (i & 1) * 8, mk = 2 * t + (i >> 1) * 8;
                            a[r, mk] = Bf16(reg & 0xFFFF);
                            a[r, mk + 1] = Bf16(reg >> 16);
                        }
                        if (gg == column)
                        {
                            b[2 * t] = x[column, 16 * kt + 4 * t];
                            b[2 * t + 1] = x[column, 16 * kt + 4 * t + 1];
                            b[2 * t + 8] = x[column, 16 * kt + 4 * t + 2];
                            b[2 * t + 9] = x[column, 16 * kt + 4 * t + 3];
                        }
                    }
                    for (int mk = 0; mk < 16; mk++) { g += a[row, mk] * b[mk]; sx += b[mk]; }
                }
                var (scale, min, _, _) = CudaQuantK4.ParamsAt(parameters, row, sb * 256 + 32 * f);
                sacc += scale * g;
                tacc += scale * sx;
                macc += min * sx;
            }
            var (_, _, d, dmin) = CudaQuantK4.ParamsAt(parameters, row, sb * 256);
            total += d * (sacc - 128 * tacc) - dmin * macc;
        }
        return total;
    }

    [Fact]
    public void OnlyCompactQ4KAndQ6KShareTheMixedLaunch()
    {
        CudaQuantPart K4(int rows = 5120, int k = 5120) => new(CudaQuantFamily.K4, WeightFormat.Q4_K, rows, k, 0x1000, 0x2000, 32, 1, 0, 0, 0);
        CudaQuantPart G6(int rows = 1024, int k = 5120) => new(CudaQuantFamily.G6, WeightFormat.Q6_K, rows, k, 0x3000, 0x4000, 16, 1, 0, 0, 0);
        var g8 = new CudaQuantPart(CudaQuantFamily.G8, WeightFormat.Q6_K, 1024, 5120, 0x5000, 0x6000, 16, 1, 0, 0, 0);
        var g4 = K4() with { Family = CudaQuantFamily.G4 };
        Assert.True(CudaBackend.MixedK4Fits([K4(), K4(1024), G6()]));
        Assert.True(CudaBackend.MixedK4Fits([G6(), K4()]));
        Assert.False(CudaBackend.MixedK4Fits([K4(), K4(1024)]));                        // one family: the K4 launch
        Assert.False(CudaBackend.MixedK4Fits([g4, G6()]));                              // G4 tiles take gemv_g4g6_stream
        Assert.False(CudaBackend.MixedK4Fits([K4(k: 512), G6(k: 768)]));
        Assert.False(CudaBackend.MixedK4Fits([K4() with { Permutation = 0x7000 }, G6()]));
        Assert.False(CudaBackend.MixedG6Fits([K4(), K4(1024), G6()]));                 // gemv_g4g6_stream reads G4 params
        Assert.False(CudaBackend.MixedKQuantFits([K4(), K4(1024), g8]));                // gemv_g4g8_stream would too
        Assert.True(CudaBackend.QuantSiluFits(K4(17408), K4(17408)));
    }

    [Fact]
    public void LayoutChoiceWarpsAndGemmPlan()
    {
        Assert.Equal(CudaQuantFamily.K4, CudaQuantLayout.FamilyOf(WeightFormat.Q4_K));
        Assert.Equal(CudaQuantFamily.G4, CudaQuantLayout.FamilyOf(WeightFormat.Q4_K, compactQ4K: false));
        Assert.Equal(CudaQuantFamily.G4, CudaQuantLayout.FamilyOf(WeightFormat.Q4_0));
        Assert.Equal(8, CudaBackend.K4WarpsFor(320, 17408, 1, 132, null));     // the 14B ffn_down at batch 1
        Assert.Equal(4, CudaBackend.K4WarpsFor(320, 17408, 8, 132, null));
        Assert.Equal(4, CudaBackend.K4WarpsFor(448, 5120, 1, 132, null));      // q|k|v
        Assert.Equal(4, CudaBackend.K4WarpsFor(320, 17408, 1, 132, 4));
        Assert.Null(QuantGemmPlanner.Unsupported(QuantGemmPlanner.Kind.K4, 5120, 32));
        Assert.NotNull(QuantGemmPlanner.Unsupported(QuantGemmPlanner.Kind.K4, 320, 32));
        // 4 stages of (x rows of 160 bytes + 8 tiles × 512 bytes of data + 8 tiles × 320 bytes of params).
        Assert.Equal(4 * (32 * 160 + 8 * 512 + 8 * 320), QuantGemmPlanner.SharedBytes(QuantGemmPlanner.Kind.K4, 32));
    }

    private static float Bf16(uint bits) => BitConverter.UInt32BitsToSingle(bits << 16);

    private static QuantizedMatrix Host(byte* p, int rows, int k) =>
        QuantizedMatrix.Gguf(WeightFormat.Q4_K, rows, k, new Tensor((nint)p, DType.U8, new Shape(rows, k / 256 * BlockBytes)));

    private static (byte[] Data, byte[] Params) Pack(QuantizedMatrix host, int tile)
    {
        var data = new byte[CudaQuantK4.TileDataBytes(host.InFeatures)];
        var parameters = new byte[CudaQuantK4.TileParamBytes(host.InFeatures)];
        CudaQuantK4.PackTile(host, tile, data, parameters);
        return (data, parameters);
    }

    private static byte[] RandomQ4K(int rows, int k, int seed)
    {
        var random = new Random(seed);
        int rowBytes = k / 256 * BlockBytes;
        var raw = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
        {
            var values = Enumerable.Range(0, k).Select(_ => (float)(random.NextDouble() * 0.3 - 0.12) * (1 + r % 4)).ToArray();
            GgufBlockCodec.Quantize(GgufTensorType.Q4_K, values, raw.AsSpan(r * rowBytes, rowBytes));
        }
        return raw;
    }
}
