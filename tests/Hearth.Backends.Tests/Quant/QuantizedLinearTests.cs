using Hearth.Backends.Cpu;
using Hearth.Backends.Tests.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Quant;

public class QuantizedLinearTests
{
    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    // rows, inFeatures, group size, output rows of each fused part
    private static readonly (int Rows, int In, int Group, int[] Parts)[] Int4Shapes =
    [
        (1, 128, 128, [8]),
        (1, 256, 64, [12, 4, 4]),
        (3, 96, 32, [7, 5]),
        (9, 384, 128, [33, 18]),
    ];

    [Theory]
    [MemberData(nameof(Levels))]
    public void Int4Group_matches_the_dequantized_product(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(11);
        foreach (var (rows, inFeatures, group, partRows) in Int4Shapes)
            foreach (bool zeros in new[] { false, true })
                foreach (bool permuted in new[] { false, true })
                {
                    var dense = new List<float[]>();
                    var parts = partRows.Select(n =>
                    {
                        var part = QuantArena.Int4(arena, random, n, inFeatures, group, zeros, permuted, out var w);
                        dense.Add(w);
                        return part;
                    }).ToArray();
                    Check(arena, random, rows, inFeatures, parts, dense, $"int4 {rows}x{inFeatures} g{group} zeros={zeros} perm={permuted}");
                }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Fp8Block_matches_the_dequantized_product_with_partial_blocks(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(12);
        foreach (var (rows, inFeatures, partRows) in new[] { (1, 256, new[] { 130, 6 }), (2, 64, new[] { 9 }), (5, 300, new[] { 17, 128 }), (1, 45, new[] { 3 }), (10, 200, new[] { 40, 24 }) })
        {
            var dense = new List<float[]>();
            var parts = partRows.Select(n =>
            {
                var part = QuantArena.Fp8(arena, random, n, inFeatures, 128, 128, out var w);
                dense.Add(w);
                return part;
            }).ToArray();
            Check(arena, random, rows, inFeatures, parts, dense, $"fp8 {rows}x{inFeatures}");
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Mixed_formats_fuse_with_a_dense_part_and_a_bias(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(13);
        const int inFeatures = 256;
        foreach (int rows in new[] { 3, 12 })
            MixedOnce(arena, random, inFeatures, rows);
    }

    private static void MixedOnce(TestArena arena, Random random, int inFeatures, int rows)
    {
        var int4 = QuantArena.Int4(arena, random, 20, inFeatures, 128, true, true, out var w0);
        var fp8 = QuantArena.Fp8(arena, random, 10, inFeatures, 128, 128, out var w1);
        var denseTensor = arena.Weights(DType.BF16, TestArena.Random(random, 6 * inFeatures), new Shape(6, inFeatures), out var w2);
        var biasValues = TestArena.Random(random, 36);
        var weight = new LinearWeight([int4, fp8, QuantizedMatrix.Dense(denseTensor)], arena.F32(biasValues, new Shape(36)));
        Assert.Equal(WeightFormat.Mixed, weight.Format);
        Check(arena, random, rows, inFeatures, weight, [w0, w1, w2], biasValues, "mixed");
    }

    [Fact]
    public void Every_thread_count_gives_the_same_result()
    {
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 5 })
        {
            using var arena = new TestArena(CpuSimd.Best, threads);
            var random = new Random(5);
            var weight = LinearWeight.Quantized(QuantArena.Int4(arena, random, 300, 256, 128, true, true, out _),
                QuantArena.Fp8(arena, random, 77, 256, 128, 128, out _));
            var input = arena.F32(TestArena.Random(random, 2 * 256), new Shape(2, 256));
            var output = arena.Zeros(DType.F32, new Shape(2, 377));
            arena.Backend.Linear(input, weight, output);
            var y = arena.Read(output);
            if (reference is null) reference = y;
            else Assert.Equal(reference, y);
        }
    }

    private static void Check(TestArena arena, Random random, int rows, int inFeatures, QuantizedMatrix[] parts,
        List<float[]> dense, string what) =>
        Check(arena, random, rows, inFeatures, LinearWeight.Quantized(parts), dense, null, what);

    private static void Check(TestArena arena, Random random, int rows, int inFeatures, LinearWeight weight,
        List<float[]> dense, float[]? bias, string what)
    {
        var x = TestArena.Random(random, rows * inFeatures);
        int outFeatures = weight.OutFeatures;
        var output = arena.Zeros(DType.F32, new Shape(rows, outFeatures));
        arena.Backend.Linear(arena.F32(x, new Shape(rows, inFeatures)), weight, output);
        var y = arena.Read(output);
        var all = dense.SelectMany(w => w).ToArray();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < outFeatures; j++)
            {
                double sum = bias?[j] ?? 0, magnitude = Math.Abs(sum);
                for (int i = 0; i < inFeatures; i++)
                {
                    double term = (double)all[j * inFeatures + i] * x[r * inFeatures + i];
                    sum += term;
                    magnitude += Math.Abs(term);
                }
                CpuCases.Near(sum, y[r * outFeatures + j], magnitude, 1e-5, $"{what} [{r},{j}]");
            }
    }
}
