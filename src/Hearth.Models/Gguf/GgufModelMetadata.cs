using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Models.Gguf;

/// <summary>
/// The model description a GGUF file carries in its metadata ({arch}.block_count, …, tokenizer.ggml.*_token_id),
/// read into Hearth's config records, and written back from them.
/// </summary>
public static class GgufModelMetadata
{
    public const string ArchitectureKey = "general.architecture";

    private static readonly Dictionary<string, string> Architectures = new(StringComparer.Ordinal)
    {
        ["qwen3"] = "Qwen3ForCausalLM",
        ["qwen2"] = "Qwen2ForCausalLM",
    };

    public static ModelConfig ReadConfig(GgufFile file)
    {
        string arch = file.GetMetadata(ArchitectureKey).AsString(ArchitectureKey);
        if (!Architectures.TryGetValue(arch, out string? hfArchitecture))
            throw new HearthException($"GGUF architecture '{arch}' in {file.Path} is not supported; Hearth runs {string.Join(", ", Architectures.Keys)}");
        int Int(string key) => file.GetMetadata($"{arch}.{key}").AsInt32($"{arch}.{key}");
        int? OptionalInt(string key) => file.TryGetMetadata($"{arch}.{key}", out var v) ? v.AsInt32($"{arch}.{key}") : null;
        double? OptionalDouble(string key) => file.TryGetMetadata($"{arch}.{key}", out var v) ? v.AsDouble($"{arch}.{key}") : null;

        int hidden = Int("embedding_length");
        int heads = Int("attention.head_count");
        int kvHeads = OptionalInt("attention.head_count_kv") ?? heads;
        var embedding = file.GetInfo(GgufTensorNames.TokenEmbedding);
        int vocab = OptionalInt("vocab_size") ?? checked((int)embedding.NumRows);
        int? bos = TokenId(file, "tokenizer.ggml.bos_token_id");
        int? eos = TokenId(file, "tokenizer.ggml.eos_token_id");
        return new ModelConfig
        {
            Architectures = [hfArchitecture],
            ModelType = arch,
            HiddenSize = hidden,
            IntermediateSize = Int("feed_forward_length"),
            NumHiddenLayers = Int("block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = OptionalInt("attention.key_length") ?? hidden / heads,
            VocabSize = vocab,
            MaxPositionEmbeddings = OptionalInt("context_length") ?? 4096,
            RmsNormEpsilon = OptionalDouble("attention.layer_norm_rms_epsilon") ?? 1e-6,
            TieWordEmbeddings = !file.TryGetInfo(GgufTensorNames.Output, out _),
            AttentionBias = arch == "qwen2" || file.TryGetInfo(GgufTensorNames.Layer(0, "attn_q", "bias"), out _),
            BosTokenId = bos,
            EosTokenIds = eos is { } e ? [e] : [],
            Rope = ReadRope(file, arch),
        };
    }

    private static RopeConfig ReadRope(GgufFile file, string arch)
    {
        double theta = file.TryGetMetadata($"{arch}.rope.freq_base", out var b) ? b.AsDouble($"{arch}.rope.freq_base") : 10000.0;
        string type = file.TryGetMetadata($"{arch}.rope.scaling.type", out var t) ? t.AsString($"{arch}.rope.scaling.type") : "none";
        if (type == "none") return new RopeConfig { Theta = theta };
        if (type is not ("linear" or "yarn"))
            throw new HearthException($"GGUF rope scaling '{type}' in {file.Path} is not supported; Hearth runs none, linear and yarn");
        double? factor = file.TryGetMetadata($"{arch}.rope.scaling.factor", out var f) ? f.AsDouble($"{arch}.rope.scaling.factor") : null;
        int? original = file.TryGetMetadata($"{arch}.rope.scaling.original_context_length", out var o)
            ? o.AsInt32($"{arch}.rope.scaling.original_context_length") : null;
        return new RopeConfig { Theta = theta, Type = type, Factor = factor, OriginalMaxPositionEmbeddings = original };
    }

    /// <summary>Generation defaults: the end-of-text ids GGUF names (eos, eot, eom), in that order, without repeats.</summary>
    public static GenerationConfig ReadGeneration(GgufFile file)
    {
        var eos = new List<int>();
        foreach (string key in new[] { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" })
            if (TokenId(file, key) is { } id && !eos.Contains(id)) eos.Add(id);
        return new GenerationConfig
        {
            EosTokenIds = eos.Count == 0 ? null : eos,
            BosTokenId = TokenId(file, "tokenizer.ggml.bos_token_id"),
            PadTokenId = TokenId(file, "tokenizer.ggml.padding_token_id"),
        };
    }

    private static int? TokenId(GgufFile file, string key) => file.TryGetMetadata(key, out var v) ? v.AsInt32(key) : null;

    /// <summary>Writes the architecture keys for a Qwen3/Qwen2 config (the tokenizer keys are written separately).</summary>
    public static void Write(GgufWriter writer, ModelConfig config, string name)
    {
        string arch = config.ModelType is "qwen2" or "qwen3" ? config.ModelType
            : config.Architectures.Contains("Qwen2ForCausalLM") ? "qwen2" : "qwen3";
        writer.Set(ArchitectureKey, GgufValue.String(arch));
        writer.Set("general.name", GgufValue.String(name));
        writer.Set($"{arch}.block_count", GgufValue.UInt32((uint)config.NumHiddenLayers));
        writer.Set($"{arch}.context_length", GgufValue.UInt32((uint)config.MaxPositionEmbeddings));
        writer.Set($"{arch}.embedding_length", GgufValue.UInt32((uint)config.HiddenSize));
        writer.Set($"{arch}.feed_forward_length", GgufValue.UInt32((uint)config.IntermediateSize));
        writer.Set($"{arch}.attention.head_count", GgufValue.UInt32((uint)config.NumAttentionHeads));
        writer.Set($"{arch}.attention.head_count_kv", GgufValue.UInt32((uint)config.NumKeyValueHeads));
        writer.Set($"{arch}.attention.key_length", GgufValue.UInt32((uint)config.HeadDim));
        writer.Set($"{arch}.attention.value_length", GgufValue.UInt32((uint)config.HeadDim));
        writer.Set($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Float32((float)config.RmsNormEpsilon));
        writer.Set($"{arch}.rope.freq_base", GgufValue.Float32((float)config.Rope.Theta));
        if (config.Rope.Type is "linear" or "yarn")
        {
            writer.Set($"{arch}.rope.scaling.type", GgufValue.String(config.Rope.Type));
            if (config.Rope.Factor is { } factor) writer.Set($"{arch}.rope.scaling.factor", GgufValue.Float32((float)factor));
            if (config.Rope.OriginalMaxPositionEmbeddings is { } original)
                writer.Set($"{arch}.rope.scaling.original_context_length", GgufValue.UInt32((uint)original));
        }
        else if (config.Rope.Type != "default")
        {
            throw new HearthException($"rope type '{config.Rope.Type}' cannot be written to GGUF; supported: default, linear, yarn");
        }
    }
}
