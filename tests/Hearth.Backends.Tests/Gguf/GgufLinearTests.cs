using Hearth.Backends.Cpu;
using Hearth.Backends.Gguf;
using Hearth.Backends.Tests.Cpu;
using Hearth.Backends.Tests.Quant;
using Hearth.Core;

namespace Hearth.Backends.Tests.Gguf;

/// <summary>
/// The CPU kernels over raw GGUF blocks against the product of the weights decoded by the reference codec (itself
/// checked against the NumPy goldens in Hearth.Models.Tests) with the input as the kernels quantize it: int8 per
/// 32 values, d = max|x| / 127, q = round(x / d). Dense parts, and batches of 8 or more rows (which decode a
/// chunk of weights to f32 scratch instead), take the input as it is.
/// </summary>
public class GgufLinearTests
{
    // From this many rows on, QuantizedLinearWork decodes weight chunks once and multiplies f32 inputs.
    private const int BatchRows = 8;

    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    private static readonly WeightFormat[] Formats = [WeightFormat.Q8_0, WeightFormat.Q4_0, WeightFormat.Q4_K, WeightFormat.Q5_K, WeightFormat.Q6_K];

    [Theory]
    [MemberData(nameof(Levels))]
    public void Every_format_matches_the_decoded_product(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(21);
        foreach (var format in Formats)
            foreach (var (rows, inFeatures, outFeatures) in new[] { (1, 512, 9), (4, 256, 6), (9, 768, 5) })
            {
                var part = RandomBlocks(arena, random, format, outFeatures, inFeatures, out var dense);
                Check(arena, random, rows, LinearWeight.Quantized(part), [(dense, true)], null, $"{format} {rows}x{inFeatures}");
            }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Q4_K_M_style_mixed_fusion_with_a_dense_part_and_bias(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(22);
        const int inFeatures = 256;
        var q = RandomBlocks(arena, random, WeightFormat.Q4_K, 12, inFeatures, out var w0);
        var k = RandomBlocks(arena, random, WeightFormat.Q4_K, 4, inFeatures, out var w1);
        var v = RandomBlocks(arena, random, WeightFormat.Q6_K, 4, inFeatures, out var w2);
        var dense = arena.Weights(DType.BF16, TestArena.Random(random, 3 * inFeatures), new Shape(3, inFeatures), out var w3);
        var bias = TestArena.Random(random, 23);
        var weight = new LinearWeight([q, k, v, QuantizedMatrix.Dense(dense)], arena.F32(bias, new Shape(23)));
        Assert.Equal(WeightFormat.Mixed, weight.Format);
        Check(arena, random, 3, weight, [(w0, true), (w1, true), (w2, true), (w3, false)], bias, "mixed");
    }

    [Fact]
    public void Thread_counts_agree()
    {
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 5 })
        {
            using var arena = new TestArena(CpuSimd.Best, threads);
            var random = new Random(23);
            var weight = LinearWeight.Quantized(RandomBlocks(arena, random, WeightFormat.Q4_K, 70, 512, out _),
                RandomBlocks(arena, random, WeightFormat.Q8_0, 33, 512, out _));
            var output = arena.Zeros(DType.F32, new Shape(2, 103));
            arena.Backend.Linear(arena.F32(TestArena.Random(random, 1024), new Shape(2, 512)), weight, output);
            var y = arena.Read(output);
            if (reference is null) reference = y;
            else Assert.Equal(reference, y);
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void A_quantized_embedding_lookup_decodes_exactly_the_gathered_rows(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        var random = new Random(5);
        foreach (var format in Formats)
        {
            const int vocab = 11, hidden = 512;
            var table = RandomBlocks(arena, random, format, vocab, hidden, out var dense);
            int[] ids = [3, 0, 10, 3, 7];
            var output = arena.Zeros(DType.F32, new Shape(ids.Length, hidden));
            arena.Backend.QuantizedEmbedding(table, arena.I32(ids, new Shape(ids.Length)), output);
            var rows = arena.Read(output);
            for (int t = 0; t < ids.Length; t++)
                for (int i = 0; i < hidden; i++)
                    Assert.True(Math.Abs(rows[t * hidden + i] - dense[ids[t] * hidden + i]) <= 1e-6f * Math.Max(1f, Math.Abs(dense[ids[t] * hidden + i])),
                        $"{format} token {ids[t]} element {i}: {rows[t * hidden + i]} vs {dense[ids[t] * hidden + i]}");
        }
        var bad = arena.Zeros(DType.F32, new Shape(1, 512));
        var anyTable = RandomBlocks(arena, random, WeightFormat.Q8_0, 11, 512, out _);
        Assert.Throws<HearthException>(() => arena.Backend.QuantizedEmbedding(anyTable, arena.I32([11], new Shape(1)), bad));
    }

    /// <summary>Random block bytes with sane f16 scales, and their values decoded by the reference codec.</summary>
    internal static QuantizedMatrix RandomBlocks(TestArena arena, Random random, WeightFormat format, int outFeatures, int inFeatures,
        out float[] dense)
    {
        var type = GgufWeightFormats.ToTensorType(format);
        int blockBytes = format.GgufBlockBytes(), numBlocks = outFeatures * inFeatures / format.GgufBlockElements();
        var bytes = new byte[numBlocks * blockBytes];
        random.NextBytes(bytes);
        for (int b = 0; b < numBlocks; b++)
        {
            var block = bytes.AsSpan(b * blockBytes, blockBytes);
            int[] scaleOffsets = format switch { WeightFormat.Q4_K or WeightFormat.Q5_K => [0, 2], WeightFormat.Q6_K => [208], _ => [0] };
            foreach (int offset in scaleOffsets) BitConverter.TryWriteBytes(block[offset..], (Half)(0.001 + random.NextDouble() * 0.02));
        }
        dense = new float[outFeatures * inFeatures];
        GgufBlockCodec.Dequantize(type, bytes, dense);
        var data = QuantArena.Bytes(arena, bytes, new Shape(outFeatures, bytes.Length / outFeatures));
        return QuantizedMatrix.Gguf(format, outFeatures, inFeatures, data);
    }

    private static void Check(TestArena arena, Random random, int rows, LinearWeight weight, List<(float[] Weights, bool QuantizedInput)> parts,
        float[]? bias, string what)
    {
        int inFeatures = weight.InFeatures, outFeatures = weight.OutFeatures;
        var x = TestArena.Random(random, rows * inFeatures);
        var output = arena.Zeros(DType.F32, new Shape(rows, outFeatures));
        arena.Backend.Linear(arena.F32(x, new Shape(rows, inFeatures)), weight, output);
        var y = arena.Read(output);
        var xq = QuantizeInput(x);
        int j = 0;
        foreach (var (w, quantizedInput) in parts)
        {
            var input = quantizedInput && rows < BatchRows ? xq : x;
            for (int jp = 0; jp < w.Length / inFeatures; jp++, j++)
                for (int r = 0; r < rows; r++)
                {
                    double sum = bias?[j] ?? 0, magnitude = Math.Abs(sum);
                    for (int i = 0; i < inFeatures; i++)
                    {
                        double term = (double)w[jp * inFeatures + i] * input[r * inFeatures + i];
                        sum += term;
                        magnitude += Math.Abs(term);
                    }
                    CpuCases.Near(sum, y[r * outFeatures + j], magnitude, 1e-5, $"{what} [{r},{j}]");
                }
        }
    }

    private static float[] QuantizeInput(float[] x)
    {
        var result = new float[x.Length];
        for (int b = 0; b < x.Length / 32; b++)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(x[b * 32 + i]));
            float d = amax / 127f, inverse = d == 0 ? 0 : 1f / d;
            for (int i = 0; i < 32; i++) result[b * 32 + i] = MathF.Round(x[b * 32 + i] * inverse) * d;
        }
        return result;
    }
}
