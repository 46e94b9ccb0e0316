using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Qwen3;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests;

public sealed class Qwen3WeightsTests
{
    private static (TempDirectory Dir, ModelCheckpoint Checkpoint) Write(TinyCheckpoint model)
    {
        var dir = new TempDirectory();
        model.WriteTo(dir.Path);
        return (dir, ModelCheckpoint.Open(dir.Path));
    }

    private static HearthException LoadFails(TinyCheckpoint model)
    {
        var (dir, checkpoint) = Write(model);
        using (dir)
        using (checkpoint)
        using (var backend = new ViewOnlyBackend())
        {
            var ex = Assert.Throws<HearthException>(() => Qwen3Weights.Load(checkpoint, backend));
            Assert.DoesNotContain('\n', ex.Message);
            return ex;
        }
    }

    [Theory]
    [InlineData(false, DType.BF16)]
    [InlineData(true, DType.F16)]
    [InlineData(false, DType.F32)]
    public void Untied_single_or_sharded_checkpoints_bind_in_any_float_dtype(bool sharded, DType dtype)
    {
        var model = new TinyCheckpoint { Sharded = sharded, DType = dtype };
        var (dir, checkpoint) = Write(model);
        using (dir)
        using (checkpoint)
        using (var backend = new ViewOnlyBackend())
        using (var weights = Qwen3Weights.Load(checkpoint, backend))
        {
            Assert.Equal(sharded, checkpoint.Safetensors.Files.Count > 1);
            Assert.Equal(dtype, weights.DType);
            Assert.Equal(model.Entries().Count, backend.Uploaded.Count);
            Assert.Equal(checkpoint.GetTensor("lm_head.weight").Data, weights.LmHead.Parts[0].Data);
            Assert.NotEqual(weights.Embedding.Data, weights.LmHead.Parts[0].Data);
            Assert.Equal(2, weights.Layers.Count);
            Assert.Equal(TinyCheckpoint.Heads * 4 + 2 * 4, weights.Layers[1].Qkv.OutFeatures);
            Assert.Null(weights.Layers[1].O.Bias);
        }
    }

    [Fact]
    public unsafe void Qwen2_fuses_its_three_biases_and_has_no_qk_norm()
    {
        var model = new TinyCheckpoint { Architecture = "Qwen2ForCausalLM", Tied = true };
        var (dir, checkpoint) = Write(model);
        ViewOnlyBackend.NativeBuffer[] buffers;
        using (dir)
        using (checkpoint)
        using (var backend = new ViewOnlyBackend())
        {
            using (var weights = Qwen3Weights.Load(checkpoint, backend))
            {
                Assert.False(weights.HasQkNorm);
                var layer = weights.Layers[0];
                Assert.Null(layer.QueryNorm);
                Assert.Null(layer.KeyNorm);
                var bias = layer.Qkv.Bias!.Value;
                Assert.Equal(new Shape(16), bias.Shape);
                Assert.Equal(DType.BF16, bias.DType);
                var actual = new ReadOnlySpan<byte>((void*)bias.Data, 32).ToArray();
                byte[] expected =
                [
                    .. TinyCheckpoint.Content("model.layers.0.self_attn.q_proj.bias", 16),
                    .. TinyCheckpoint.Content("model.layers.0.self_attn.k_proj.bias", 8),
                    .. TinyCheckpoint.Content("model.layers.0.self_attn.v_proj.bias", 8),
                ];
                Assert.Equal(expected, actual);
                buffers = [.. backend.Allocated];
                Assert.Equal(2, buffers.Length);
            }
            Assert.All(buffers, b => Assert.True(b.IsDisposed));
        }
    }

    [Fact]
    public void Qwen3_with_attention_bias_binds_output_bias()
    {
        var model = new TinyCheckpoint { AttentionBias = true };
        var (dir, checkpoint) = Write(model);
        using (dir)
        using (checkpoint)
        using (var backend = new ViewOnlyBackend())
        using (var weights = Qwen3Weights.Load(checkpoint, backend))
        {
            Assert.NotNull(weights.Layers[0].Qkv.Bias);
            Assert.Equal(checkpoint.GetTensor("model.layers.0.self_attn.o_proj.bias").Data, weights.Layers[0].O.Bias!.Value.Data);
        }
    }

    [Fact]
    public void Missing_tensor_is_named_with_the_folder()
    {
        var ex = LoadFails(new TinyCheckpoint { Omit = ["model.layers.1.mlp.up_proj.weight"] });
        Assert.Contains("'model.layers.1.mlp.up_proj.weight' is missing", ex.Message);
        Assert.Contains("hearth-models-", ex.Message);
        Assert.Contains("'lm_head.weight'", LoadFails(new TinyCheckpoint { Omit = ["lm_head.weight"] }).Message);
        Assert.Contains("q_norm", LoadFails(new TinyCheckpoint { Omit = ["model.layers.0.self_attn.q_norm.weight"] }).Message);
    }

    [Fact]
    public void Wrong_shape_names_tensor_expected_and_actual()
    {
        var ex = LoadFails(new TinyCheckpoint { ShapeOverrides = { ["model.layers.0.self_attn.k_proj.weight"] = [8, 8] } });
        Assert.Contains("'model.layers.0.self_attn.k_proj.weight' has shape [8, 8], but config.json implies [4, 8]", ex.Message);
        ex = LoadFails(new TinyCheckpoint { ShapeOverrides = { ["model.embed_tokens.weight"] = [11, 8] } });
        Assert.Contains("[11, 8]", ex.Message);
        Assert.Contains("[10, 8]", ex.Message);
    }

    [Fact]
    public void Unsupported_architecture_is_named_with_the_supported_ones()
    {
        var ex = LoadFails(new TinyCheckpoint { Architecture = "LlamaForCausalLM" });
        Assert.Contains("'LlamaForCausalLM'", ex.Message);
        Assert.Contains("Qwen3ForCausalLM, Qwen2ForCausalLM", ex.Message);
    }

    [Fact]
    public void Mixed_or_non_float_dtypes_are_rejected()
    {
        var ex = LoadFails(new TinyCheckpoint { DTypeOverrides = { ["model.layers.1.mlp.down_proj.weight"] = DType.F32 } });
        Assert.Contains("mixed weight dtypes", ex.Message);
        Assert.Contains("'model.layers.1.mlp.down_proj.weight' is F32", ex.Message);
        ex = LoadFails(new TinyCheckpoint { DType = DType.I8 });
        Assert.Contains("must be BF16, F16 or F32", ex.Message);
    }

    [Fact]
    public void Checkpoint_errors_for_missing_pieces()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<HearthException>(() => ModelCheckpoint.Open(dir.File("nope")));
        Assert.Contains("does not exist", ex.Message);

        File.WriteAllText(dir.File("config.json"), new TinyCheckpoint().ConfigJson);
        ex = Assert.Throws<HearthException>(() => ModelCheckpoint.Open(dir.Path));
        Assert.Contains("no model.safetensors or model.safetensors.index.json", ex.Message);

        File.WriteAllText(dir.File("config.json"), "{ \"hidden_size\": 8, }");
        ex = Assert.Throws<HearthException>(() => ModelCheckpoint.Open(dir.Path));
        Assert.Contains("config.json: invalid JSON", ex.Message);
    }
}
