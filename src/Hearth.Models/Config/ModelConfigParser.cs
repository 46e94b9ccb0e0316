using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Models.Config;

/// <summary>Reads a Hugging Face <c>config.json</c> written by transformers 4.x or 5.x into a <see cref="ModelConfig"/>.</summary>
public static class ModelConfigParser
{
    public const string FileName = "config.json";

    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path)) throw new HearthException($"{path} not found: a model folder needs a config.json");
        return Parse(File.ReadAllText(path), path);
    }

    /// <param name="source">Names the file in error messages.</param>
    public static ModelConfig Parse(string json, string source = FileName)
    {
        using var document = JsonFields.ParseDocument(json, source);
        var fields = new JsonFields(document.RootElement, source);

        int hiddenSize = fields.RequiredInt("hidden_size");
        int numHeads = fields.RequiredInt("num_attention_heads");
        int numKvHeads = fields.Int("num_key_value_heads") ?? numHeads;
        int maxPositions = fields.RequiredInt("max_position_embeddings");
        var config = new ModelConfig
        {
            Architectures = fields.StringList("architectures") ?? [],
            ModelType = fields.String("model_type") ?? "",
            HiddenSize = hiddenSize,
            IntermediateSize = fields.RequiredInt("intermediate_size"),
            NumHiddenLayers = fields.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = numHeads,
            NumKeyValueHeads = numKvHeads,
            HeadDim = fields.Int("head_dim") ?? (numHeads > 0 ? hiddenSize / numHeads : 0),
            VocabSize = fields.RequiredInt("vocab_size"),
            MaxPositionEmbeddings = maxPositions,
            RmsNormEpsilon = fields.Double("rms_norm_eps") ?? 1e-6,
            TieWordEmbeddings = fields.Bool("tie_word_embeddings") ?? false,
            AttentionBias = fields.Bool("attention_bias") ?? false,
            // transformers 5 renamed torch_dtype to dtype; prefer the new name when both are present.
            DType = ParseDType(fields.String("dtype") ?? fields.String("torch_dtype"), source),
            BosTokenId = fields.Int("bos_token_id"),
            EosTokenIds = fields.IntOrList("eos_token_id") ?? [],
            Rope = ParseRope(fields, maxPositions),
        };
        Validate(config, source);
        return config;
    }

    private static RopeConfig ParseRope(JsonFields fields, int maxPositions)
    {
        double? topTheta = fields.Double("rope_theta");
        double? topPartial = fields.Double("partial_rotary_factor");
        // 5.x keeps theta, type and scaling together in rope_parameters; 4.x has rope_theta beside rope_scaling.
        JsonFields? scaling = fields.Object("rope_parameters") ?? fields.Object("rope_scaling");
        // Models with several attention kinds (sliding + full) nest one parameter set per layer type.
        if (scaling is { } nested && nested.Object("full_attention") is { } full) scaling = full;
        if (scaling is not { } s)
            return new RopeConfig { Theta = topTheta ?? 10000.0, PartialRotaryFactor = topPartial ?? 1.0 };

        string type = (s.String("rope_type") ?? s.String("type") ?? "default").ToLowerInvariant();
        int? original = s.Int("original_max_position_embeddings");
        double? factor = s.Double("factor");
        // transformers' standardization: these types fall back to max_position_embeddings as the original
        // context, and a YaRN config without a factor takes the ratio of the two lengths. An explicit factor
        // wins over that ratio, as in transformers 5 and vLLM (4.x briefly preferred the ratio).
        if (type is "yarn" or "llama3" or "longrope") original ??= maxPositions;
        if (type == "yarn" && factor is null && original is int o && o > 0) factor = (double)maxPositions / o;
        return new RopeConfig
        {
            Theta = s.Double("rope_theta") ?? topTheta ?? 10000.0,
            Type = type,
            Factor = factor,
            OriginalMaxPositionEmbeddings = original,
            BetaFast = s.Double("beta_fast"),
            BetaSlow = s.Double("beta_slow"),
            AttentionFactor = s.Double("attention_factor"),
            Mscale = s.Double("mscale"),
            MscaleAllDim = s.Double("mscale_all_dim"),
            Truncate = s.Bool("truncate") ?? true,
            LowFreqFactor = s.Double("low_freq_factor"),
            HighFreqFactor = s.Double("high_freq_factor"),
            PartialRotaryFactor = s.Double("partial_rotary_factor") ?? topPartial ?? 1.0,
        };
    }

    /// <summary>Maps torch dtype names ("bfloat16", "torch.float16", "float32") to <see cref="DType"/>.</summary>
    public static DType? ParseDType(string? name, string source = FileName)
    {
        if (name is null) return null;
        string bare = name.StartsWith("torch.", StringComparison.Ordinal) ? name["torch.".Length..] : name;
        return bare switch
        {
            "bfloat16" => DType.BF16,
            "float16" or "half" => DType.F16,
            "float32" or "float" => DType.F32,
            "float8_e4m3fn" => DType.F8E4M3,
            _ => throw new HearthException(
                $"{source}: unsupported dtype '{name}' (supported: bfloat16, float16, float32, float8_e4m3fn)"),
        };
    }

    private static void Validate(ModelConfig c, string source)
    {
        void Positive(int value, string key)
        {
            if (value <= 0) throw new HearthException($"{source}: '{key}' must be positive, found {value}");
        }

        Positive(c.HiddenSize, "hidden_size");
        Positive(c.IntermediateSize, "intermediate_size");
        Positive(c.NumHiddenLayers, "num_hidden_layers");
        Positive(c.NumAttentionHeads, "num_attention_heads");
        Positive(c.NumKeyValueHeads, "num_key_value_heads");
        Positive(c.HeadDim, "head_dim");
        Positive(c.VocabSize, "vocab_size");
        Positive(c.MaxPositionEmbeddings, "max_position_embeddings");
        if (c.NumAttentionHeads % c.NumKeyValueHeads != 0)
            throw new HearthException(
                $"{source}: num_attention_heads ({c.NumAttentionHeads}) is not a multiple of num_key_value_heads ({c.NumKeyValueHeads})");
        if (c.Rope.Theta <= 0) throw new HearthException($"{source}: rope_theta must be positive, found {c.Rope.Theta}");
    }
}
