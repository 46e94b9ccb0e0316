using Hearth.Backends;
using Hearth.Testing;

namespace Hearth.Models.Tests.Quantization;

/// <summary>
/// tests/goldens/quant: modules packed by tools/quant_reference.py (NumPy, written from the format
/// descriptions) with the weights and products that script reconstructs. Hearth's readers and kernels must
/// agree with it.
/// </summary>
public class QuantGoldenTests
{
    private static string Root => Path.Combine(RepoPaths.RepoRoot, "tests", "goldens", "quant");

    public static TheoryData<string> Cases() =>
        new(Directory.EnumerateDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Fact]
    public void Every_format_has_goldens()
    {
        var names = Directory.EnumerateDirectories(Root).Select(Path.GetFileName).ToList();
        Assert.Contains(names, n => n!.StartsWith("awq", StringComparison.Ordinal));
        Assert.Contains(names, n => n!.StartsWith("gptq-asym-descact", StringComparison.Ordinal));
        Assert.Contains(names, n => n!.StartsWith("gptq-sym", StringComparison.Ordinal));
        Assert.Contains(names, n => n!.StartsWith("fp8", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reader_and_kernel_reproduce_the_reference_dequantization(string name)
    {
        string directory = Path.Combine(Root, name);
        float[] expectedWeights, x, expectedY;
        int outFeatures, inFeatures;
        using (var checkpoint = ModelCheckpoint.Open(directory))
        {
            var w = checkpoint.GetTensor("expected.dequantized");
            (outFeatures, inFeatures) = (w.Shape[0], w.Shape[1]);
            expectedWeights = Floats(w);
            x = Floats(checkpoint.GetTensor("expected.x"));
            expectedY = Floats(checkpoint.GetTensor("expected.y"));
        }

        var weights = QuantTestModule.Dequantized(directory, outFeatures, inFeatures);
        for (int k = 0; k < weights.Length; k++)
        {
            double tolerance = 1e-6 * Math.Abs(expectedWeights[k]) + 1e-12;
            if (!(Math.Abs(weights[k] - expectedWeights[k]) <= tolerance))
                Assert.Fail($"{name}: weight [{k / inFeatures}, {k % inFeatures}] is {weights[k]}, reference {expectedWeights[k]}");
        }

        var y = QuantTestModule.Multiply(directory, outFeatures, inFeatures, x, out var matrix);
        Assert.Equal(name.StartsWith("fp8", StringComparison.Ordinal) ? WeightFormat.Fp8Block : WeightFormat.Int4Group, matrix.Format);
        for (int k = 0; k < y.Length; k++)
        {
            double magnitude = 0;
            int r = k / outFeatures, j = k % outFeatures;
            for (int i = 0; i < inFeatures; i++) magnitude += Math.Abs(expectedWeights[j * inFeatures + i] * x[r * inFeatures + i]);
            Assert.True(Math.Abs(y[k] - expectedY[k]) <= 1e-5 * magnitude + 1e-9, $"{name}: y[{r}, {j}] = {y[k]}, reference {expectedY[k]}");
        }
    }

    private static unsafe float[] Floats(Tensor tensor) => new ReadOnlySpan<float>((void*)tensor.Data, (int)tensor.NumElements).ToArray();
}
