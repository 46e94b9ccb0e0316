using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Qwen3;
using Hearth.Models.Tests.Support;
using Hearth.Testing;

namespace Hearth.Models.Tests;

/// <summary>The shared parrot fixture: a real, sharded, bf16, tied Qwen3 checkpoint written by transformers.</summary>
public sealed class ParrotCheckpointTests
{
    private static string Shard(int i) => Path.Combine(RepoPaths.Parrot, $"model-0000{i}-of-00002.safetensors");

    [Fact]
    public void Config_and_generation_config_are_read()
    {
        using var checkpoint = ModelCheckpoint.Open(RepoPaths.Parrot);
        var c = checkpoint.Config;
        Assert.Equal(["Qwen3ForCausalLM"], c.Architectures);
        Assert.Equal("qwen3", c.ModelType);
        Assert.Equal((64, 192, 4, 4, 2, 32), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.Equal(151936, c.VocabSize);
        Assert.Equal(40960, c.MaxPositionEmbeddings);
        Assert.Equal(1e-6, c.RmsNormEpsilon);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.Equal(DType.BF16, c.DType);
        Assert.Equal(151643, c.BosTokenId);
        Assert.Equal([151645], c.EosTokenIds);
        Assert.Equal("default", c.Rope.Type);
        Assert.Equal(1_000_000.0, c.Rope.Theta);

        var g = checkpoint.Generation;
        Assert.Equal([151645, 151643], g.EosTokenIds!);
        Assert.Equal(151643, g.PadTokenId);
        Assert.True(g.DoSample);
        Assert.Equal(0.6, g.Temperature);
        Assert.Equal(20, g.TopK);
        Assert.Equal(0.95, g.TopP);
        Assert.Null(g.MinP);
        Assert.Null(g.MaxNewTokens);
    }

    [Fact]
    public void Every_indexed_tensor_is_found_in_its_shard()
    {
        using var checkpoint = ModelCheckpoint.Open(RepoPaths.Parrot);
        // embed + 4 layers × 11 + final norm; tied, so no lm_head.
        Assert.Equal(46, checkpoint.TensorNames.Count);
        Assert.Equal(2, checkpoint.Safetensors.Files.Count);
        Assert.False(checkpoint.TryGetTensor("lm_head.weight", out _));
        var embedding = checkpoint.GetTensor("model.embed_tokens.weight");
        Assert.Equal(new Shape(151936, 64), embedding.Shape);
        Assert.Equal(DType.BF16, embedding.DType);
        Assert.Equal(new Shape(32), checkpoint.GetTensor("model.layers.3.self_attn.k_norm.weight").Shape);
    }

    [Theory]
    [InlineData(1, "model.embed_tokens.weight", 0)]
    [InlineData(1, "model.embed_tokens.weight", 151645 * 64 + 17)]
    [InlineData(1, "model.embed_tokens.weight", 151936 * 64 - 1)]
    [InlineData(2, "model.layers.2.mlp.down_proj.weight", 12287)]
    [InlineData(2, "model.norm.weight", 63)]
    [InlineData(2, "model.layers.0.self_attn.q_norm.weight", 5)]
    public unsafe void Tensor_values_match_the_file_bytes(int shard, string name, int element)
    {
        var (offset, length) = RawSafetensors.Locate(Shard(shard), name);
        Assert.True((element + 1) * 2 <= length);
        byte[] raw = RawSafetensors.ReadBytes(Shard(shard), offset + element * 2L, 2);
        ushort expectedBits = (ushort)(raw[0] | raw[1] << 8);

        using var checkpoint = ModelCheckpoint.Open(RepoPaths.Parrot);
        var tensor = checkpoint.GetTensor(name);
        ushort actualBits = ((ushort*)tensor.Data)[element];
        Assert.Equal(expectedBits, actualBits);
        Assert.True(float.IsFinite(BFloat16Bits.ToSingle(actualBits)));
    }

    [Fact]
    public void Tensors_are_views_into_the_mapping_not_copies()
    {
        using var checkpoint = ModelCheckpoint.Open(RepoPaths.Parrot);
        const string a = "model.layers.0.mlp.down_proj.weight", b = "model.layers.3.self_attn.v_proj.weight";
        long distance = checkpoint.GetTensor(b).Data - checkpoint.GetTensor(a).Data;
        Assert.Equal(RawSafetensors.Locate(Shard(2), b).Offset - RawSafetensors.Locate(Shard(2), a).Offset, distance);
    }

    [Fact]
    public void Qwen3_weights_bind_with_fused_projections_and_tied_head()
    {
        using var checkpoint = ModelCheckpoint.Open(RepoPaths.Parrot);
        using var backend = new ViewOnlyBackend();
        using var weights = Qwen3Weights.Load(checkpoint, backend);

        Assert.Equal(DType.BF16, weights.DType);
        Assert.True(weights.HasQkNorm);
        Assert.Equal(4, weights.Layers.Count);
        Assert.Equal(46, backend.Uploaded.Count);
        Assert.Empty(backend.Allocated);

        var layer = weights.Layers[2];
        Assert.Equal((64, 4 * 32 + 2 * 2 * 32), (layer.Qkv.InFeatures, layer.Qkv.OutFeatures));
        Assert.Equal(checkpoint.GetTensor("model.layers.2.self_attn.q_proj.weight").Data, layer.Qkv.Parts[0].Data);
        Assert.Equal(checkpoint.GetTensor("model.layers.2.self_attn.k_proj.weight").Data, layer.Qkv.Parts[1].Data);
        Assert.Equal(checkpoint.GetTensor("model.layers.2.self_attn.v_proj.weight").Data, layer.Qkv.Parts[2].Data);
        Assert.Null(layer.Qkv.Bias);
        Assert.Equal((128, 64), (layer.O.InFeatures, layer.O.OutFeatures));
        Assert.Equal((64, 2 * 192), (layer.GateUp.InFeatures, layer.GateUp.OutFeatures));
        Assert.Equal(checkpoint.GetTensor("model.layers.2.mlp.up_proj.weight").Data, layer.GateUp.Parts[1].Data);
        Assert.Equal((192, 64), (layer.Down.InFeatures, layer.Down.OutFeatures));
        Assert.Equal(new Shape(32), layer.QueryNorm!.Value.Shape);
        Assert.Equal(checkpoint.GetTensor("model.layers.2.self_attn.k_norm.weight").Data, layer.KeyNorm!.Value.Data);

        Assert.Equal(weights.Embedding.Data, weights.LmHead.Parts[0].Data);
        Assert.Equal((64, 151936), (weights.LmHead.InFeatures, weights.LmHead.OutFeatures));
        Assert.Equal(checkpoint.GetTensor("model.norm.weight").Data, weights.FinalNorm.Data);
    }
}
