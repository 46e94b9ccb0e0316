using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public class CpuLinearTests
{
    public static TheoryData<CpuSimdLevel, DType> Cases() => CpuCases.LevelsAndWeightTypes();

    // rows, inFeatures, output features of each fused part, with bias
    private static readonly (int Rows, int In, int[] Parts, bool Bias)[] Shapes =
    [
        (1, 37, [5], false),
        (1, 256, [600, 400], false),
        (2, 100, [17, 3], true),
        (4, 129, [9, 6], false),
        (5, 64, [515], true),
        (9, 67, [33, 8, 8], false),
        (13, 300, [70, 31, 29], true),
        // 17-32 rows take the row-vectorized kernel (one and two vectors of rows, weight-row tails of 1-3).
        (17, 64, [515], true),
        (24, 129, [70, 31, 29], false),
        (32, 70, [33, 8, 7], true),
        // Chunks wide enough for the 8 × 32 AVX-512 block, with a 4-row block and single rows after it.
        (32, 64, [611, 390], false),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Linear_matches_a_double_precision_reference(CpuSimdLevel level, DType dtype)
    {
        using var arena = new TestArena(level);
        var random = new Random(1234);
        foreach (var (rows, inFeatures, partRows, withBias) in Shapes)
        {
            var x = TestArena.Random(random, rows * inFeatures);
            var input = arena.F32(x, new Shape(rows, inFeatures));
            var parts = new Tensor[partRows.Length];
            var stored = new List<float[]>();
            foreach (var (p, n) in partRows.Index())
            {
                parts[p] = arena.Weights(dtype, TestArena.Random(random, n * inFeatures), new Shape(n, inFeatures), out var w);
                stored.Add(w);
            }
            int outFeatures = partRows.Sum();
            float[]? biasValues = null;
            Tensor? bias = null;
            if (withBias) bias = arena.Weights(DType.BF16, TestArena.Random(random, outFeatures), new Shape(outFeatures), out biasValues);
            var weight = new LinearWeight(WeightFormat.Dense, parts, bias);
            var output = arena.Zeros(DType.F32, new Shape(rows, outFeatures));

            arena.Backend.Linear(input, weight, output);

            var y = arena.Read(output);
            var allWeights = stored.SelectMany(w => w).ToArray(); // [outFeatures, in] after concatenation
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < outFeatures; j++)
                {
                    double sum = biasValues?[j] ?? 0, magnitude = Math.Abs(biasValues?[j] ?? 0);
                    for (int i = 0; i < inFeatures; i++)
                    {
                        double term = (double)allWeights[j * inFeatures + i] * x[r * inFeatures + i];
                        sum += term;
                        magnitude += Math.Abs(term);
                    }
                    CpuCases.Near(sum, y[r * outFeatures + j], magnitude, 1e-5, $"{rows}x{inFeatures}->{outFeatures} [{r},{j}]");
                }
            }
        }
    }

    [Fact]
    public void Linear_uses_every_thread_count_consistently()
    {
        var random = new Random(7);
        var x = TestArena.Random(random, 6 * 200);
        var w = TestArena.Random(random, 333 * 200);
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 5 })
        {
            using var arena = new TestArena(CpuSimd.Best, threads);
            var output = arena.Zeros(DType.F32, new Shape(6, 333));
            arena.Backend.Linear(arena.F32(x, new Shape(6, 200)),
                LinearWeight.Dense(arena.Weights(DType.BF16, w, new Shape(333, 200), out _)), output);
            var y = arena.Read(output);
            reference ??= y;
            for (int i = 0; i < y.Length; i++) Assert.Equal(reference[i], y[i], 4);
        }
    }

    [Fact]
    public void Linear_rejects_weights_it_cannot_read_with_a_clear_error()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var weight = LinearWeight.Dense(arena.Zeros(DType.I8, new Shape(4, 8)));
        var error = Assert.Throws<HearthException>(() =>
            arena.Backend.Linear(arena.Zeros(DType.F32, new Shape(1, 8)), weight, arena.Zeros(DType.F32, new Shape(1, 4))));
        Assert.Contains("I8", error.Message);
    }

    [Fact]
    public void Linear_rejects_mismatched_shapes()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var weight = LinearWeight.Dense(arena.Zeros(DType.F32, new Shape(4, 8)));
        Assert.Throws<ArgumentException>(() =>
            arena.Backend.Linear(arena.Zeros(DType.F32, new Shape(2, 7)), weight, arena.Zeros(DType.F32, new Shape(2, 4))));
        Assert.Throws<ArgumentException>(() =>
            arena.Backend.Linear(arena.Zeros(DType.F32, new Shape(2, 8)), weight, arena.Zeros(DType.F32, new Shape(2, 5))));
    }

    [Fact]
    public void Linear_takes_a_per_head_input_as_rows_of_its_flattened_heads()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var random = new Random(8);
        var x = TestArena.Random(random, 3 * 4 * 8);
        var w = TestArena.Random(random, 5 * 32);
        var weight = LinearWeight.Dense(arena.F32(w, new Shape(5, 32)));
        var flat = arena.Zeros(DType.F32, new Shape(3, 5));
        var perHead = arena.Zeros(DType.F32, new Shape(3, 5));
        arena.Backend.Linear(arena.F32(x, new Shape(3, 32)), weight, flat);
        arena.Backend.Linear(arena.F32(x, new Shape(3, 4, 8)), weight, perHead);
        Assert.Equal(arena.Read(flat), arena.Read(perHead));
        Assert.NotEqual(0f, arena.Read(flat)[0]);
    }
}
