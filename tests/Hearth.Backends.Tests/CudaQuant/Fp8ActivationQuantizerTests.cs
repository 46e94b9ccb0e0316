using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>W8A8's per-row, per-group e4m3 activations: each group uses the whole e4m3 range and keeps 3 mantissa bits.</summary>
public sealed class Fp8ActivationQuantizerTests
{
    [Fact]
    public void EachGroupsLargestValueMapsTo448AndRoundTripsWithinOneSixteenth()
    {
        var random = new Random(9);
        var row = Enumerable.Range(0, 256).Select(i => (float)(random.NextDouble() * 2 - 1) * (i < 128 ? 1e-3f : 50f)).ToArray();
        var quantized = new byte[256];
        var scales = new float[2];
        Fp8ActivationQuantizer.QuantizeRow(row, 128, quantized, scales);
        for (int g = 0; g < 2; g++)
        {
            float amax = row.Skip(g * 128).Take(128).Max(MathF.Abs);
            Assert.Equal(amax / 448f, scales[g]);
            Assert.Contains(quantized.Skip(g * 128).Take(128), b => (b & 0x7F) == 0x7E);   // 448, e4m3's largest finite
            for (int i = g * 128; i < (g + 1) * 128; i++)
            {
                float back = Float8E4M3.ToSingle(quantized[i]) * scales[g];
                // Relative 1/16 for normals; e4m3's subnormal step (2^-9 of the scale) below 2^-6 of it.
                Assert.True(Math.Abs(back - row[i]) <= Math.Max(Math.Abs(row[i]) / 16, scales[g] * MathF.Pow(2, -10)) * 1.0001,
                    $"[{i}] {row[i]} came back as {back}");
            }
        }
    }

    [Fact]
    public void AnAllZeroGroupGetsScaleOneAndZeros()
    {
        var quantized = new byte[64];
        var scales = new float[2];
        var row = new float[64];
        row[40] = -3f;
        Fp8ActivationQuantizer.QuantizeRow(row, 32, quantized, scales);
        Assert.Equal(1f, scales[0]);
        Assert.All(quantized.Take(32), b => Assert.Equal(0, b & 0x7F));
        Assert.Equal(3f / 448f, scales[1]);
        Assert.Equal(-448f, Float8E4M3.ToSingle(quantized[40]));
    }

    [Fact]
    public void RejectsRowsThatAreNotWholeGroups()
    {
        Assert.Throws<ArgumentException>(() => Fp8ActivationQuantizer.QuantizeRow(new float[100], 32, new byte[100], new float[4]));
    }
}
