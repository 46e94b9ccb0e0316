using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public class CpuRowOpTests
{
    public static TheoryData<CpuSimdLevel, DType> Cases() => CpuCases.LevelsAndWeightTypes();

    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    // rows, dim: odd widths, one row, and enough elements to split over threads
    private static readonly (int Rows, int Dim)[] Shapes = [(1, 7), (1, 1024), (3, 33), (17, 100), (40, 1030)];

    private static double[] ReferenceRmsNorm(float[] x, int row, int dim, float[] w, float eps)
    {
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)x[row * dim + i] * x[row * dim + i];
        double scale = 1 / Math.Sqrt(ss / dim + eps);
        var y = new double[dim];
        for (int i = 0; i < dim; i++) y[i] = w[i] * (x[row * dim + i] * scale);
        return y;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RmsNorm_matches_reference(CpuSimdLevel level, DType weightType)
    {
        using var arena = new TestArena(level);
        var random = new Random(11);
        foreach (var (rows, dim) in Shapes)
        {
            var x = TestArena.Random(random, rows * dim, 3f);
            var weight = arena.Weights(weightType, TestArena.Random(random, dim), new Shape(dim), out var w);
            var output = arena.Zeros(DType.F32, new Shape(rows, dim));
            arena.Backend.RmsNorm(arena.F32(x, new Shape(rows, dim)), weight, 1e-6f, output);
            var y = arena.Read(output);
            for (int r = 0; r < rows; r++)
            {
                var expected = ReferenceRmsNorm(x, r, dim, w, 1e-6f);
                for (int i = 0; i < dim; i++) CpuCases.Near(expected[i], y[r * dim + i], Math.Abs(expected[i]), 1e-5, $"[{r},{i}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AddRmsNorm_updates_the_residual_and_normalizes_it(CpuSimdLevel level, DType weightType)
    {
        using var arena = new TestArena(level);
        var random = new Random(12);
        foreach (var (rows, dim) in Shapes)
        {
            var residual = TestArena.Random(random, rows * dim);
            var input = TestArena.Random(random, rows * dim);
            var weight = arena.Weights(weightType, TestArena.Random(random, dim), new Shape(dim), out var w);
            var residualTensor = arena.F32(residual, new Shape(rows, dim));
            var output = arena.Zeros(DType.F32, new Shape(rows, dim));
            arena.Backend.AddRmsNorm(residualTensor, arena.F32(input, new Shape(rows, dim)), weight, 1e-5f, output);
            var sum = residual.Zip(input, (a, b) => a + b).ToArray();
            Assert.Equal(sum, arena.Read(residualTensor));
            var y = arena.Read(output);
            for (int r = 0; r < rows; r++)
            {
                var expected = ReferenceRmsNorm(sum, r, dim, w, 1e-5f);
                for (int i = 0; i < dim; i++) CpuCases.Near(expected[i], y[r * dim + i], Math.Abs(expected[i]), 1e-5, $"[{r},{i}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void SiluMul_is_silu_of_gate_times_up(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(13);
        foreach (var (rows, inter) in Shapes)
        {
            var gateUp = TestArena.Random(random, rows * 2 * inter, 12f);
            var output = arena.Zeros(DType.F32, new Shape(rows, inter));
            arena.Backend.SiluMul(arena.F32(gateUp, new Shape(rows, 2 * inter)), output);
            var y = arena.Read(output);
            for (int r = 0; r < rows; r++)
            {
                for (int i = 0; i < inter; i++)
                {
                    double g = gateUp[r * 2 * inter + i], u = gateUp[r * 2 * inter + inter + i];
                    double expected = g / (1 + Math.Exp(-g)) * u;
                    CpuCases.Near(expected, y[r * inter + i], Math.Abs(expected), 1e-5, $"[{r},{i}]");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Add_adds_elementwise(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(14);
        foreach (var (rows, dim) in Shapes)
        {
            var a = TestArena.Random(random, rows * dim);
            var b = TestArena.Random(random, rows * dim);
            var output = arena.Zeros(DType.F32, new Shape(rows, dim));
            arena.Backend.Add(arena.F32(a, new Shape(rows, dim)), arena.F32(b, new Shape(rows, dim)), output);
            Assert.Equal(a.Zip(b, (p, q) => p + q).ToArray(), arena.Read(output));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Embedding_widens_the_rows_of_the_given_tokens(CpuSimdLevel level, DType weightType)
    {
        using var arena = new TestArena(level);
        var random = new Random(15);
        const int vocab = 50, hidden = 67;
        var table = arena.Weights(weightType, TestArena.Random(random, vocab * hidden), new Shape(vocab, hidden), out var stored);
        int[] ids = [3, 49, 0, 3, 17];
        var output = arena.Zeros(DType.F32, new Shape(ids.Length, hidden));
        arena.Backend.Embedding(table, arena.I32(ids, new Shape(ids.Length)), output);
        var y = arena.Read(output);
        for (int t = 0; t < ids.Length; t++)
            Assert.Equal(stored.AsSpan(ids[t] * hidden, hidden).ToArray(), y.AsSpan(t * hidden, hidden).ToArray());
    }

    [Fact]
    public void Embedding_rejects_a_token_outside_the_vocabulary()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var table = arena.Zeros(DType.BF16, new Shape(10, 4));
        var error = Assert.Throws<HearthException>(() =>
            arena.Backend.Embedding(table, arena.I32([2, 10], new Shape(2)), arena.Zeros(DType.F32, new Shape(2, 4))));
        Assert.Contains("10", error.Message);
    }

    [Fact]
    public void GatherRows_picks_rows_in_the_given_order()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var x = Enumerable.Range(0, 5 * 3).Select(i => (float)i).ToArray();
        var output = arena.Zeros(DType.F32, new Shape(3, 3));
        arena.Backend.GatherRows(arena.F32(x, new Shape(5, 3)), arena.I32([4, 0, 4], new Shape(3)), output);
        Assert.Equal([12f, 13, 14, 0, 1, 2, 12, 13, 14], arena.Read(output));
        Assert.Throws<ArgumentException>(() =>
            arena.Backend.GatherRows(arena.F32(x, new Shape(5, 3)), arena.I32([5], new Shape(1)), arena.Zeros(DType.F32, new Shape(1, 3))));
    }
}
