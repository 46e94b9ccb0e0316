using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public class CpuQkNormRopeTests
{
    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    // tokens, heads, kvHeads, headDim, rotaryDim, norms, attention scaling
    private static readonly (int Tokens, int Heads, int KvHeads, int HeadDim, int RotaryDim, bool Norms, float Scaling)[] Shapes =
    [
        (1, 2, 1, 10, 10, true, 1f),
        (3, 4, 2, 10, 6, false, 1f),
        (5, 16, 8, 128, 128, true, 1f),
        (6, 4, 4, 64, 32, true, 1.25f),
        (9, 6, 2, 96, 96, false, 0.9f),
    ];

    [Theory]
    [MemberData(nameof(Levels))]
    public void QkNormRope_matches_hugging_face_math(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(21);
        foreach (var (tokens, heads, kvHeads, d, rotaryDim, norms, scaling) in Shapes)
        {
            int rowLen = (heads + 2 * kvHeads) * d;
            var qkv = TestArena.Random(random, tokens * rowLen, 2f);
            var positions = Enumerable.Range(0, tokens).Select(t => t * 997 % 5000).ToArray();
            var inverse = Enumerable.Range(0, rotaryDim / 2).Select(i => (float)(1.0 / Math.Pow(1_000_000, 2.0 * i / rotaryDim))).ToArray();
            float[] qw = [], kw = [];
            Tensor? queryNorm = null, keyNorm = null;
            if (norms)
            {
                queryNorm = arena.Weights(DType.BF16, TestArena.Random(random, d), new Shape(d), out qw);
                keyNorm = arena.Weights(DType.F32, TestArena.Random(random, d), new Shape(d), out kw);
            }
            var query = arena.Zeros(DType.F32, new Shape(tokens, heads, d));
            var key = arena.Zeros(DType.F32, new Shape(tokens, kvHeads, d));
            var value = arena.Zeros(DType.F32, new Shape(tokens, kvHeads, d));
            var rope = new RopeParameters(arena.F32(inverse, new Shape(inverse.Length)), scaling);

            arena.Backend.QkNormRope(arena.F32(qkv, new Shape(tokens, rowLen)), queryNorm, keyNorm, 1e-6f,
                arena.I32(positions, new Shape(tokens)), rope, query, key, value);

            var q = arena.Read(query);
            var k = arena.Read(key);
            var v = arena.Read(value);
            for (int t = 0; t < tokens; t++)
            {
                for (int h = 0; h < heads + 2 * kvHeads; h++)
                {
                    var source = qkv.AsSpan(t * rowLen + h * d, d).ToArray();
                    if (h >= heads + kvHeads)
                    {
                        Assert.Equal(source, v.AsSpan((t * kvHeads + h - heads - kvHeads) * d, d).ToArray());
                        continue;
                    }
                    bool isQuery = h < heads;
                    var expected = Reference(source, norms ? (isQuery ? qw : kw) : null, positions[t], inverse, scaling);
                    var actual = isQuery ? q.AsSpan((t * heads + h) * d, d) : k.AsSpan((t * kvHeads + h - heads) * d, d);
                    for (int i = 0; i < d; i++)
                        CpuCases.Near(expected[i].Value, actual[i], expected[i].Magnitude, 1e-5, $"token {t} head {h} dim {i}");
                }
            }
        }
    }

    private static (double Value, double Magnitude)[] Reference(float[] x, float[]? norm, int position, float[] inverse, float scaling)
    {
        int d = x.Length;
        var y = x.Select(v => (double)v).ToArray();
        if (norm != null)
        {
            double scale = 1 / Math.Sqrt(y.Sum(v => v * v) / d + 1e-6);
            for (int i = 0; i < d; i++) y[i] = norm[i] * (y[i] * scale);
        }
        var result = y.Select(v => (v, Math.Abs(v))).ToArray();
        int half = inverse.Length;
        for (int i = 0; i < half; i++)
        {
            float angle = position * inverse[i]; // HF forms the angle in f32
            double cos = Math.Cos(angle) * scaling, sin = Math.Sin(angle) * scaling;
            double a = y[i], b = y[i + half];
            double magnitude = Math.Abs(a) + Math.Abs(b);
            result[i] = (a * cos - b * sin, magnitude);
            result[i + half] = (b * cos + a * sin, magnitude);
        }
        return result;
    }

    [Fact]
    public void QkNormRope_at_position_zero_without_norms_copies_heads_unchanged()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var qkv = TestArena.Random(new Random(3), 4 * 8);
        var query = arena.Zeros(DType.F32, new Shape(1, 2, 8));
        var key = arena.Zeros(DType.F32, new Shape(1, 1, 8));
        var value = arena.Zeros(DType.F32, new Shape(1, 1, 8));
        var rope = new RopeParameters(arena.F32([1f, 0.1f, 0.01f, 0.001f], new Shape(4)), 1f);
        arena.Backend.QkNormRope(arena.F32(qkv, new Shape(1, 32)), null, null, 1e-6f, arena.I32([0], new Shape(1)), rope, query, key, value);
        Assert.Equal(qkv[..16], arena.Read(query));
        Assert.Equal(qkv[16..24], arena.Read(key));
        Assert.Equal(qkv[24..], arena.Read(value));
    }
}
