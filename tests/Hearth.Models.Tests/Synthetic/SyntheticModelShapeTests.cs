using System.Text.Json;
using Hearth.Core;
using Hearth.Models.Synthetic;

namespace Hearth.Models.Tests.Synthetic;

public class SyntheticModelShapeTests
{
    public static TheoryData<string> ShapeNames() => new(SyntheticModels.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void Config_json_is_byte_identical_to_the_python_writer(string name)
    {
        var shape = SyntheticModels.Find(name)!;
        Assert.Equal(PrngVectors.Shape(name).GetProperty("config_json").GetString(), shape.ToConfigJson());
    }

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void Tensor_list_scales_and_first_values_match_the_python_reference(string name)
    {
        var shape = SyntheticModels.Find(name)!;
        var expected = PrngVectors.Shape(name).GetProperty("tensors").EnumerateArray().ToList();
        var actual = shape.Tensors().ToList();
        Assert.Equal(expected.Select(t => t.GetProperty("name").GetString()), actual.Select(t => t.Name));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), a.Shape);
            Assert.Equal(PrngVectors.Hex32(e.GetProperty("scale_f32_bits")), BitConverter.SingleToUInt32Bits(a.Scale));
            Assert.Equal((float)e.GetProperty("center").GetDouble(), RandomWeights.CenterFor(a.Name));
            var first = new ushort[8];
            RandomWeights.FillBf16(shape.Seed, a.Name, a.Scale, first);
            Assert.Equal(PrngVectors.Bf16(e.GetProperty("first8_bf16")), first);
            foreach (var probe in e.GetProperty("probes").EnumerateArray())
            {
                var one = new ushort[1];
                RandomWeights.FillBf16(shape.Seed, a.Name, a.Scale, one, probe.GetProperty("index").GetInt64());
                Assert.Equal((ushort)probe.GetProperty("bf16").GetInt32(), one[0]);
            }
        }
    }

    [Fact]
    public void Parity_shapes_cover_the_variants_the_engine_must_handle()
    {
        var parity = SyntheticModels.Parity;
        Assert.Equal(new[] { 1, 4, 8 }, parity.Select(s => s.NumHeads / s.NumKvHeads).Distinct().Order());
        Assert.Contains(parity, s => s.TieWordEmbeddings);
        Assert.Contains(parity, s => !s.TieWordEmbeddings);
        Assert.Contains(parity, s => s.HeadDim != s.HiddenSize / s.NumHeads);
        Assert.Contains(parity, s => s.IsYarn && s.ConfigStyle == SyntheticConfigStyle.Transformers5);
        Assert.Contains(parity, s => s.ConfigStyle == SyntheticConfigStyle.Transformers4);
        Assert.All(parity, s => Assert.Equal(151936, s.VocabSize));
    }

    [Fact]
    public void Config_json_parses_and_carries_the_rope_settings()
    {
        using var v4 = JsonDocument.Parse(SyntheticModels.A_Gqa1Tied.ToConfigJson());
        Assert.Equal(10000.0, v4.RootElement.GetProperty("rope_theta").GetDouble());
        Assert.Equal(JsonValueKind.Null, v4.RootElement.GetProperty("rope_scaling").ValueKind);
        Assert.True(v4.RootElement.GetProperty("tie_word_embeddings").GetBoolean());

        using var yarn = JsonDocument.Parse(SyntheticModels.D_Gqa4Yarn.ToConfigJson());
        var rope = yarn.RootElement.GetProperty("rope_parameters");
        Assert.Equal("yarn", rope.GetProperty("rope_type").GetString());
        Assert.Equal(4.0, rope.GetProperty("factor").GetDouble());
        Assert.Equal(64, rope.GetProperty("original_max_position_embeddings").GetInt32());
        Assert.False(yarn.RootElement.TryGetProperty("rope_theta", out _));
    }

    [Fact]
    public void Floats_are_written_as_python_repr()
    {
        foreach (var c in PrngVectors.Items("float_repr"))
        {
            var shape = SyntheticModels.A_Gqa1Tied with { RmsNormEps = c.GetProperty("value").GetDouble() };
            Assert.Contains($"\"rms_norm_eps\": {c.GetProperty("repr").GetString()},\n", shape.ToConfigJson());
        }
    }

    [Fact]
    public void Qwen3_0_6b_has_the_published_parameter_count()
    {
        Assert.Equal(596_049_920L, SyntheticModels.Qwen3_0_6B.ParameterCount());
        Assert.Equal(2 + 11 * 28, SyntheticModels.Qwen3_0_6B.Tensors().Count());
        Assert.DoesNotContain(SyntheticModels.Qwen3_0_6B.Tensors(), t => t.Name == "lm_head.weight");
        Assert.Contains(SyntheticModels.B_Gqa4Untied.Tensors(), t => t.Name == "lm_head.weight");
    }

    [Fact]
    public void Invalid_shapes_are_rejected_with_a_clear_message()
    {
        var bad = SyntheticModels.B_Gqa4Untied with { NumKvHeads = 3 };
        var e = Assert.Throws<HearthException>(() => bad.Tensors().ToList());
        Assert.Contains("multiple of 3 KV heads", e.Message);
        Assert.Throws<HearthException>(() => (SyntheticModels.A_Gqa1Tied with { YarnFactor = 2.0 }).ToConfigJson());
    }
}
