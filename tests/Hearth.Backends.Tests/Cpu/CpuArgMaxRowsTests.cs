using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public class CpuArgMaxRowsTests
{
    [Theory]
    [InlineData(1, 151936)]
    [InlineData(5, 1000)]
    [InlineData(32, 4099)]
    public unsafe void Each_row_gets_its_first_largest_logit(int rows, int vocab)
    {
        using var arena = new TestArena(CpuSimdLevel.Vector512);
        var random = new Random(rows * 31 + vocab);
        var values = TestArena.Random(random, rows * vocab, 10f);
        for (int r = 0; r < rows; r++)
        {
            // Ties and NaNs in some rows: the first maximum wins, NaN never does.
            if (r % 3 == 1) values[r * vocab + vocab - 1] = values[r * vocab + Scalar(values, r * vocab, vocab)];
            if (r % 3 == 2) values[r * vocab + random.Next(vocab)] = float.NaN;
        }
        var logits = arena.F32(values, new Shape(rows, vocab));
        var ids = arena.Zeros(DType.I32, new Shape(rows));

        arena.Backend.ArgMaxRows(logits, ids);

        for (int r = 0; r < rows; r++) Assert.Equal(Scalar(values, r * vocab, vocab), ((int*)ids.Data)[r]);
    }

    [Theory]
    [InlineData(CpuSimdLevel.Vector512, DType.BF16, 1)]
    [InlineData(CpuSimdLevel.Vector512, DType.BF16, 32)]
    [InlineData(CpuSimdLevel.Vector256, DType.F32, 9)]
    [InlineData(CpuSimdLevel.Scalar, DType.F16, 20)]
    public unsafe void The_fused_pick_equals_the_linear_output_s_argmax(CpuSimdLevel level, DType dtype, int rows)
    {
        using var arena = new TestArena(level);
        var random = new Random(rows);
        const int inFeatures = 48;
        int[] partRows = [700, 301]; // two fused parts: chunks straddle the boundary
        var x = TestArena.Random(random, rows * inFeatures);
        var parts = partRows.Select(n => arena.Weights(dtype, TestArena.Random(random, n * inFeatures), new Shape(n, inFeatures), out _)).ToArray();
        var bias = arena.Weights(DType.BF16, TestArena.Random(random, partRows.Sum()), new Shape(partRows.Sum()), out _);
        var weight = new LinearWeight(WeightFormat.Dense, parts, bias);
        int outFeatures = partRows.Sum();
        var input = arena.F32(x, new Shape(rows, inFeatures));
        var fused = arena.Zeros(DType.F32, new Shape(rows, outFeatures));
        var ids = arena.Zeros(DType.I32, new Shape(rows));

        arena.Backend.LinearArgMax(input, weight, fused, ids);

        var y = arena.Read(fused);
        var plain = arena.Zeros(DType.F32, new Shape(rows, outFeatures));
        arena.Backend.Linear(input, weight, plain);
        Assert.Equal(arena.Read(plain), y); // the output is still the Linear's
        for (int r = 0; r < rows; r++) Assert.Equal(Scalar(y, r * outFeatures, outFeatures), ((int*)ids.Data)[r]);
    }

    [Theory]
    [InlineData(DType.BF16, 32, 20011)]
    [InlineData(DType.BF16, 17, 5003)]
    [InlineData(DType.F32, 24, 3001)]
    public unsafe void The_in_register_pick_of_a_row_batch_equals_the_linear_output_s_argmax(DType dtype, int rows, int outFeatures)
    {
        // 17-32 rows without a bias: the row-vector kernel picks in its registers and never writes the logits.
        using var arena = new TestArena(CpuSimdLevel.Vector512);
        var random = new Random(rows + outFeatures);
        const int inFeatures = 64;
        var w = TestArena.Random(random, outFeatures * inFeatures);
        // Equal maxima: weight row 8 copied to rows 13 (same block of eight), 40 (same chunk), 9000 % n (another chunk) and the last
        // (the tail past the last full block); a NaN row; x rows aligned with row 8 so it is the largest for some rows.
        foreach (int copy in new[] { 13, 40, 9000 % outFeatures, outFeatures - 1 })
            Array.Copy(w, 8 * inFeatures, w, copy * inFeatures, inFeatures);
        w[500 * inFeatures + 3] = float.NaN;
        var x = TestArena.Random(random, rows * inFeatures);
        for (int r = 0; r < rows; r += 3) for (int i = 0; i < inFeatures; i++) x[r * inFeatures + i] = w[8 * inFeatures + i] * 4f;
        var weight = LinearWeight.Dense(arena.Weights(dtype, w, new Shape(outFeatures, inFeatures), out _));
        var input = arena.F32(x, new Shape(rows, inFeatures));
        var ids = arena.Zeros(DType.I32, new Shape(rows));

        arena.Backend.LinearArgMax(input, weight, arena.Zeros(DType.F32, new Shape(rows, outFeatures)), ids);

        var plain = arena.Zeros(DType.F32, new Shape(rows, outFeatures));
        arena.Backend.Linear(input, weight, plain);
        var y = arena.Read(plain);
        for (int r = 0; r < rows; r++) Assert.Equal(Scalar(y, r * outFeatures, outFeatures), ((int*)ids.Data)[r]);
        Assert.Equal(8, ((int*)ids.Data)[0]); // the first of five equal maxima
    }

    [Fact]
    public unsafe void The_fused_pick_takes_the_first_of_equal_maxima_across_chunks()
    {
        using var arena = new TestArena(CpuSimdLevel.Vector512);
        const int rows = 2, inFeatures = 16, outFeatures = 4000;
        // Weight rows 10, 2500 and 3999 are equal and largest: the first must win whichever chunk each lies in.
        var w = new float[outFeatures * inFeatures];
        foreach (int j in new[] { 10, 2500, 3999 }) for (int i = 0; i < inFeatures; i++) w[j * inFeatures + i] = 1f;
        var weight = LinearWeight.Dense(arena.Weights(DType.F32, w, new Shape(outFeatures, inFeatures), out _));
        var x = Enumerable.Repeat(1f, rows * inFeatures).ToArray();
        var ids = arena.Zeros(DType.I32, new Shape(rows));
        arena.Backend.LinearArgMax(arena.F32(x, new Shape(rows, inFeatures)), weight, arena.Zeros(DType.F32, new Shape(rows, outFeatures)), ids);
        Assert.Equal(10, ((int*)ids.Data)[0]);
        Assert.Equal(10, ((int*)ids.Data)[1]);
    }

    [Fact]
    public void Rejects_a_mismatched_id_count()
    {
        using var arena = new TestArena(CpuSimdLevel.Vector256);
        var logits = arena.Zeros(DType.F32, new Shape(3, 10));
        var ids = arena.Zeros(DType.I32, new Shape(2));
        Assert.Throws<ArgumentException>(() => arena.Backend.ArgMaxRows(logits, ids));
    }

    private static int Scalar(float[] values, int start, int count)
    {
        int best = -1;
        for (int i = 0; i < count; i++)
        {
            float v = values[start + i];
            if (float.IsNaN(v)) continue;
            if (best < 0 || v > values[start + best]) best = i;
        }
        return Math.Max(best, 0);
    }
}
