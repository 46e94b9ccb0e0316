using Hearth.Backends.Gguf;

namespace Hearth.Models.Tests.Gguf;

/// <summary>Round-to-nearest quantization: decoded values stay within each format's resolution.</summary>
public sealed class GgufCodecTests
{
    [Theory]
    [InlineData(GgufTensorType.Q8_0, 0.015)]
    [InlineData(GgufTensorType.Q6_K, 0.04)]
    [InlineData(GgufTensorType.Q5_K, 0.08)]
    [InlineData(GgufTensorType.Q4_K, 0.15)]
    [InlineData(GgufTensorType.Q4_0, 0.20)]
    public void Quantize_then_dequantize_keeps_relative_rms_error_within_the_format_resolution(GgufTensorType type, double maxRelativeRms)
    {
        var rng = new Random(7);
        var x = new float[1024];
        // Weights-like data: mostly small normals, a few outliers.
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Normal(rng) * 0.02 * (i % 97 == 0 ? 8 : 1));
        var blocks = new byte[GgufBlockLayout.RowSizeBytes(type, x.Length)];
        GgufBlockCodec.Quantize(type, x, blocks);
        var y = new float[x.Length];
        GgufBlockCodec.Dequantize(type, blocks, y);
        double err = 0, norm = 0;
        for (int i = 0; i < x.Length; i++)
        {
            err += (x[i] - y[i]) * (double)(x[i] - y[i]);
            norm += x[i] * (double)x[i];
        }
        double relative = Math.Sqrt(err / norm);
        Assert.True(relative < maxRelativeRms, $"{type}: relative RMS error {relative:F4} ≥ {maxRelativeRms}");
        Assert.True(relative > 0, $"{type} reproduced random data exactly, so it cannot be quantizing");

    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    [InlineData(GgufTensorType.Q4_K)]
    [InlineData(GgufTensorType.Q5_K)]
    [InlineData(GgufTensorType.Q6_K)]
    public void Zeros_and_constant_blocks_decode_exactly_enough(GgufTensorType type)
    {
        int n = GgufBlockLayout.BlockElements(type) * 2;
        var x = new float[n];
        for (int i = n / 2; i < n; i++) x[i] = 0.5f;
        var blocks = new byte[GgufBlockLayout.RowSizeBytes(type, n)];
        GgufBlockCodec.Quantize(type, x, blocks);
        var y = new float[n];
        GgufBlockCodec.Dequantize(type, blocks, y);
        for (int i = 0; i < n; i++) Assert.InRange(y[i], x[i] - 0.01f, x[i] + 0.01f);
    }

    [Fact]
    public void Rows_that_are_not_whole_blocks_are_refused()
    {
        var e = Assert.Throws<Hearth.Core.HearthException>(() => GgufBlockLayout.RowSizeBytes(GgufTensorType.Q4_K, 64));
        Assert.Contains("Q4_K", e.Message);
        var unsupported = Assert.Throws<Hearth.Core.HearthException>(() => GgufBlockLayout.BlockSizeBytes(GgufTensorType.IQ2_XS));
        Assert.Contains("IQ2_XS", unsupported.Message);
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
