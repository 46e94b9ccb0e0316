using System.Text;
using Hearth.Core;
using Hearth.Models.Synthetic;

namespace Hearth.Models.Tests.Synthetic;

public class RandomWeightsTests
{
    [Fact]
    public void Hashes_match_the_python_reference()
    {
        foreach (var c in PrngVectors.Items("fnv1a64"))
            Assert.Equal(PrngVectors.Hex64(c.GetProperty("hash")), RandomWeights.Fnv1a64(Encoding.UTF8.GetBytes(c.GetProperty("utf8").GetString()!)));
        foreach (var c in PrngVectors.Items("mix64"))
            Assert.Equal(PrngVectors.Hex64(c.GetProperty("output")), RandomWeights.Mix64(PrngVectors.Hex64(c.GetProperty("input"))));
        // Published splitmix64 value: the first output for state 1234567.
        Assert.Equal(6457827717110365317UL, RandomWeights.Mix64(1234567UL + RandomWeights.GoldenGamma));
    }

    [Fact]
    public void Fills_match_the_python_reference_bit_for_bit()
    {
        foreach (var c in PrngVectors.Items("fills"))
        {
            ulong seed = PrngVectors.Hex64(c.GetProperty("seed"));
            string name = c.GetProperty("name").GetString()!;
            float scale = BitConverter.UInt32BitsToSingle(PrngVectors.Hex32(c.GetProperty("scale_f32_bits")));
            long start = c.GetProperty("start_index").GetInt64();
            ushort[] expected = PrngVectors.Bf16(c.GetProperty("bf16"));
            Assert.Equal(PrngVectors.Hex64(c.GetProperty("key")), RandomWeights.TensorKey(seed, name));

            var serial = new ushort[expected.Length];
            RandomWeights.FillBf16(seed, name, scale, serial, start);
            Assert.Equal(expected, serial);

            var parallel = new ushort[expected.Length];
            RandomWeights.FillBf16Parallel(seed, name, scale, parallel, start);
            Assert.Equal(expected, parallel);
        }
    }

    [Fact]
    public void Any_index_range_reproduces_the_same_elements()
    {
        // Lengths around the 16- and 32-element SIMD blocks, at offsets that split blocks, must agree with one fill.
        const int Total = 300;
        var whole = new ushort[Total];
        RandomWeights.FillBf16(99, "model.layers.3.mlp.gate_proj.weight", 0.1f, whole, 1000);
        for (int offset = 0; offset < 40; offset += 7)
        {
            foreach (int length in new[] { 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 250 })
            {
                if (offset + length > Total) continue;
                var part = new ushort[length];
                RandomWeights.FillBf16(99, "model.layers.3.mlp.gate_proj.weight", 0.1f, part, 1000 + offset);
                Assert.Equal(whole.AsSpan(offset, length).ToArray(), part);
            }
        }
    }

    [Fact]
    public void Parallel_fill_of_many_chunks_equals_the_serial_fill()
    {
        var serial = new ushort[(1 << 18) + 123];
        var parallel = new ushort[serial.Length];
        RandomWeights.FillBf16(5, "lm_head.weight", 0.4f, serial, 77);
        RandomWeights.FillBf16Parallel(5, "lm_head.weight", 0.4f, parallel, 77);
        Assert.Equal(serial, parallel);
    }

    [Fact]
    public void Values_are_uniform_in_the_scaled_range_and_norms_centre_on_one()
    {
        var values = new ushort[100_000];
        RandomWeights.FillBf16(1, "model.layers.0.self_attn.v_proj.weight", 0.5f, values);
        float[] f = values.Select(BFloat16Bits.ToSingle).ToArray();
        Assert.All(f, x => Assert.InRange(x, -0.5f, 0.5f));
        Assert.InRange(f.Average(), -0.01, 0.01);
        Assert.InRange(f.Select(x => x * x).Average(), 0.25 / 3 * 0.98, 0.25 / 3 * 1.02); // variance of U(-a, a) is a²/3
        Assert.InRange(f.Count(x => x > 0.25f) / (double)f.Length, 0.24, 0.26);

        RandomWeights.FillBf16(1, "model.layers.0.input_layernorm.weight", 0.25f, values);
        f = values.Select(BFloat16Bits.ToSingle).ToArray();
        Assert.All(f, x => Assert.InRange(x, 0.75f, 1.25f));
        Assert.InRange(f.Average(), 0.99, 1.01);
        Assert.True(f.Distinct().Count() > 50, "norm weights must not all be one");
    }

    [Fact]
    public void Different_names_and_seeds_give_different_streams()
    {
        var a = new ushort[64];
        var b = new ushort[64];
        var c = new ushort[64];
        RandomWeights.FillBf16(1, "model.layers.0.mlp.up_proj.weight", 1f, a);
        RandomWeights.FillBf16(1, "model.layers.1.mlp.up_proj.weight", 1f, b);
        RandomWeights.FillBf16(2, "model.layers.0.mlp.up_proj.weight", 1f, c);
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Negative_start_index_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomWeights.FillBf16(1, "x", 1f, new ushort[4], -1));
    }
}
