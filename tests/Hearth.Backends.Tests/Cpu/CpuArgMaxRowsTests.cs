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
