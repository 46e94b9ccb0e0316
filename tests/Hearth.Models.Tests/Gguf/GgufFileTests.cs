using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Hearth.Models.Gguf;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests.Gguf;

/// <summary>GgufWriter → GgufFile round trips, and one-line errors for files Hearth cannot run.</summary>
public sealed class GgufFileTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(128)]
    public void Metadata_and_tensors_round_trip_at_any_alignment(int alignment)
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter(alignment);
        writer.Set("general.architecture", GgufValue.String("qwen3"));
        writer.Set("x.u64", GgufValue.UInt64(ulong.MaxValue));
        writer.Set("x.f32", GgufValue.Float32(-0.5f));
        writer.Set("x.flag", GgufValue.Bool(true));
        writer.Set("x.tokens", GgufValue.StringArray(["a", "ü", ""]));
        writer.Set("x.ids", GgufValue.Int32Array([3, -1]));
        var random = new Random(4);
        var values = Enumerable.Range(0, 3 * 256).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var blocks = new byte[3 * GgufBlockLayout.RowSizeBytes(GgufTensorType.Q4_K, 256)];
        GgufBlockCodec.Quantize(GgufTensorType.Q4_K, values, blocks);
        var norm = new byte[5 * 4];
        BitConverter.TryWriteBytes(norm.AsSpan(8), 2.5f);
        writer.AddTensor("blk.0.attn_q.weight", GgufTensorType.Q4_K, [3, 256], blocks);
        writer.AddTensor("output_norm.weight", GgufTensorType.F32, [5], norm);
        writer.Write(dir.File("m.gguf"));

        using var file = GgufFile.Open(dir.File("m.gguf"));
        Assert.Equal(alignment, file.AlignmentBytes);
        Assert.Equal("qwen3", file.GetMetadata("general.architecture").AsString("a"));
        Assert.Equal(ulong.MaxValue, file.GetMetadata("x.u64").Value);
        Assert.Equal(-0.5, file.GetMetadata("x.f32").AsDouble("f"));
        Assert.True(file.GetMetadata("x.flag").AsBool("b"));
        Assert.Equal(["a", "ü", ""], file.GetMetadata("x.tokens").AsStringArray("t"));
        Assert.Equal([3, -1], file.GetMetadata("x.ids").AsInt32Array("i"));
        var q = file.GetInfo("blk.0.attn_q.weight");
        Assert.Equal(new Shape(3, 256), q.Shape);
        Assert.Equal(blocks, file.GetBytes(q).ToArray());
        Assert.Equal(0, (file.DataOffsetBytes + q.OffsetBytes) % alignment);
        var n = file.GetPlainTensor(file.GetInfo("output_norm.weight"));
        Assert.Equal(DType.F32, n.DType);
        Assert.Equal(new Shape(5), n.Shape);
        Assert.Equal(2.5f, BitConverter.ToSingle(file.GetBytes(file.GetInfo("output_norm.weight"))[8..12]));
    }

    [Fact]
    public void A_truncated_file_names_the_problem()
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter();
        writer.AddTensor("t", GgufTensorType.Q8_0, [4, 64], new byte[4 * 68]);
        writer.Write(dir.File("full.gguf"));
        var bytes = File.ReadAllBytes(dir.File("full.gguf"));
        File.WriteAllBytes(dir.File("cut.gguf"), bytes[..(bytes.Length - 40)]);
        var e = Assert.Throws<HearthException>(() => GgufFile.Open(dir.File("cut.gguf")));
        Assert.Contains("truncated", e.Message);
        File.WriteAllBytes(dir.File("header.gguf"), bytes[..20]);
        Assert.Contains("corrupt GGUF", Assert.Throws<HearthException>(() => GgufFile.Open(dir.File("header.gguf"))).Message);
    }

    [Fact]
    public void Other_versions_and_non_gguf_files_are_refused_by_name()
    {
        using var dir = new TempDirectory();
        new GgufWriter().Write(dir.File("v3.gguf"));
        var bytes = File.ReadAllBytes(dir.File("v3.gguf"));
        bytes[4] = 2;
        File.WriteAllBytes(dir.File("v2.gguf"), bytes);
        Assert.Contains("GGUF version 2", Assert.Throws<HearthException>(() => GgufFile.Open(dir.File("v2.gguf"))).Message);
        File.WriteAllText(dir.File("text.gguf"), "hello world, not a model");
        Assert.Contains("not a GGUF file", Assert.Throws<HearthException>(() => GgufFile.Open(dir.File("text.gguf"))).Message);
    }

    [Fact]
    public void A_tensor_type_hearth_cannot_run_is_named_when_loading()
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter();
        GgufModelMetadata.Write(writer, new Hearth.Core.Config.ModelConfig
        {
            ModelType = "qwen3", HiddenSize = 256, IntermediateSize = 256, NumHiddenLayers = 1, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, HeadDim = 128, VocabSize = 8, MaxPositionEmbeddings = 64,
        }, "tiny");
        writer.AddTensor("token_embd.weight", GgufTensorType.F32, [8, 256], new byte[8 * 256 * 4]);
        writer.Write(dir.File("ok.gguf"));
        using (var ok = GgufFile.Open(dir.File("ok.gguf")))
        {
            var config = GgufModelMetadata.ReadConfig(ok);
            Assert.Equal(["Qwen3ForCausalLM"], config.Architectures);
            Assert.Equal(128, config.HeadDim);
            Assert.True(config.TieWordEmbeddings);
        }
        var bytes = File.ReadAllBytes(dir.File("ok.gguf"));
        // Patch token_embd's type id (F32 = 0) to IQ2_XS (17): the u32 right before the tensor's u64 offset.
        int nameAt = IndexOf(bytes, "token_embd.weight"u8.ToArray());
        int typeAt = nameAt + "token_embd.weight".Length + 4 + 2 * 8;
        Assert.Equal(0, BitConverter.ToInt32(bytes, typeAt));
        BitConverter.TryWriteBytes(bytes.AsSpan(typeAt), (uint)GgufTensorType.IQ2_XS);
        File.WriteAllBytes(dir.File("iq.gguf"), bytes);
        using var file = GgufFile.Open(dir.File("iq.gguf"));
        using var backend = new Hearth.Backends.Cpu.CpuBackend(1);
        var e = Assert.Throws<HearthException>(() => GgufQwen3Loader.Load(file, backend));
        Assert.Contains("IQ2_XS", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_unsupported_architecture_is_named()
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter();
        writer.Set("general.architecture", GgufValue.String("llama"));
        writer.Write(dir.File("llama.gguf"));
        using var file = GgufFile.Open(dir.File("llama.gguf"));
        Assert.Contains("'llama'", Assert.Throws<HearthException>(() => GgufModelMetadata.ReadConfig(file)).Message);
    }

    [Fact]
    public void Tensor_names_map_both_ways()
    {
        Assert.Equal("blk.12.attn_q.weight", GgufTensorNames.FromHuggingFace("model.layers.12.self_attn.q_proj.weight"));
        Assert.Equal("blk.0.attn_k.bias", GgufTensorNames.FromHuggingFace("model.layers.0.self_attn.k_proj.bias"));
        Assert.Equal("token_embd.weight", GgufTensorNames.FromHuggingFace("model.embed_tokens.weight"));
        foreach (string hf in new[] { "lm_head.weight", "model.norm.weight", "model.layers.3.mlp.down_proj.weight", "model.layers.1.self_attn.k_norm.weight" })
            Assert.Equal(hf, GgufTensorNames.ToHuggingFace(GgufTensorNames.FromHuggingFace(hf)!));
        Assert.Null(GgufTensorNames.FromHuggingFace("model.layers.x.mlp.up_proj.weight"));
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
