using Hearth.Backends.Cuda;
using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// The GPU layouts the CUDA backend repacks quantized weights into must decode to the same weights as each format's
/// own decoder (up to the f16 rounding of scales and offsets): the kernels decode exactly as DequantizeRow does.
/// </summary>
public sealed unsafe class CudaQuantLayoutTests
{
    [Theory]
    [InlineData(WeightFormat.Q4_0)]
    [InlineData(WeightFormat.Q4_K)]
    [InlineData(WeightFormat.Q5_K)]
    [InlineData(WeightFormat.Q6_K)]
    [InlineData(WeightFormat.Q8_0)]
    public void GgufRepackDecodesToTheFormatsWeights(WeightFormat format)
    {
        const int Rows = 3, In = 512;
        var random = new Random(format.GetHashCode() + 7);
        int rowBytes = In / format.GgufBlockElements() * format.GgufBlockBytes();
        var raw = new byte[Rows * rowBytes];
        var type = GgufWeightFormats.ToTensorType(format);
        for (int r = 0; r < Rows; r++)
        {
            var values = Enumerable.Range(0, In).Select(_ => (float)(random.NextDouble() * 0.2 - 0.07) * (r + 1)).ToArray();
            GgufBlockCodec.Quantize(type, values, raw.AsSpan(r * rowBytes, rowBytes));
        }
        fixed (byte* rawPtr = raw)
        {
            var host = QuantizedMatrix.Gguf(format, Rows, In, new Tensor((nint)rawPtr, DType.U8, new Shape(Rows, rowBytes)));
            AssertRoundTrip(host, r => Decode(type, raw.AsSpan(r * rowBytes, rowBytes), In));
        }
    }

    [Fact]
    public void Int4GroupRepackKeepsNibblesAndFoldsZeroPoints()
    {
        const int Rows = 4, In = 256, Group = 128;
        var random = new Random(11);
        var data = new byte[Rows * In / 2];
        random.NextBytes(data);
        var scales = Enumerable.Range(0, Rows * In / Group).Select(_ => (float)(Half)(0.01 + random.NextDouble() * 0.02)).ToArray();
        var zeros = Enumerable.Range(0, scales.Length).Select(_ => (float)random.Next(16)).ToArray();
        fixed (byte* d = data)
        fixed (float* s = scales)
        fixed (float* z = zeros)
        {
            var host = QuantizedMatrix.Int4Group(Rows, In, Group, new Tensor((nint)d, DType.U8, new Shape(Rows, In / 2)),
                new Tensor((nint)s, DType.F32, new Shape(Rows, In / Group)), new Tensor((nint)z, DType.F32, new Shape(Rows, In / Group)));
            AssertRoundTrip(host, r =>
            {
                var w = new float[In];
                for (int i = 0; i < In; i++)
                {
                    byte b = data[r * In / 2 + i / 32 * 16 + i % 16];
                    int q = i % 32 < 16 ? b & 0xF : b >> 4;
                    int g = r * (In / Group) + i / Group;
                    w[i] = (q - zeros[g]) * scales[g];
                }
                return w;
            });
        }
    }

    [Fact]
    public void FormatsWithoutAGpuLayoutAreNamed()
    {
        Assert.Null(CudaQuantLayout.FamilyOf(WeightFormat.Dense));
        Assert.Equal(CudaQuantFamily.F8, CudaQuantLayout.FamilyOf(WeightFormat.Fp8Block));
    }

    private static void AssertRoundTrip(QuantizedMatrix host, Func<int, float[]> expectedRow)
    {
        var family = CudaQuantLayout.FamilyOf(host.Format, compactQ6K: false, compactQ4K: false)!.Value;   // the G8 repack of Q6_K, the G4 one of Q4_K (CudaQuantG6Tests, CudaQuantK4Tests cover the compact ones)
        int k = host.InFeatures, group = CudaQuantLayout.GroupSize(host), paramsPerRow = CudaQuantLayout.ParamsPerRow(host);
        long rowBytes = CudaQuantLayout.DataRowBytes(family, k);
        var data = new byte[host.OutFeatures * rowBytes];
        var parameters = new uint[host.OutFeatures * paramsPerRow];
        CudaQuantLayout.PackRows(host, 0, host.OutFeatures, data, parameters);
        var decoded = new float[k];
        for (int r = 0; r < host.OutFeatures; r++)
        {
            CudaQuantLayout.DequantizeRow(family, k, group, data.AsSpan((int)(r * rowBytes), (int)rowBytes), parameters.AsSpan(r * paramsPerRow, paramsPerRow), decoded);
            var expected = expectedRow(r);
            float scale = expected.Max(MathF.Abs);
            for (int i = 0; i < k; i++)
                Assert.True(MathF.Abs(decoded[i] - expected[i]) <= 2e-3f * scale + 1e-6f, $"row {r} weight {i}: {decoded[i]} vs {expected[i]}");
        }
    }

    private static float[] Decode(GgufTensorType type, ReadOnlySpan<byte> row, int n)
    {
        var y = new float[n];
        GgufBlockCodec.Dequantize(type, row, y);
        return y;
    }
}
