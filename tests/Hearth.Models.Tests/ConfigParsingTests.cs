using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Config;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests;

public sealed class ConfigParsingTests
{
    // As transformers 4.51 writes Qwen3-8B's config.
    private const string Qwen3V4 = """
        {
          "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
          "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
          "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 12288,
          "max_position_embeddings": 40960, "max_window_layers": 36, "model_type": "qwen3",
          "num_attention_heads": 32, "num_hidden_layers": 36, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
          "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": false,
          "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    // transformers 5.x: rope settings moved into rope_parameters, torch_dtype became dtype.
    private const string Qwen3V5 = """
        {
          "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024, "head_dim": 128,
          "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
          "max_position_embeddings": 40960, "rms_norm_eps": 1e-06, "tie_word_embeddings": true, "vocab_size": 151936,
          "dtype": "float16", "eos_token_id": [151645, 151643], "bos_token_id": null,
          "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}
        }
        """;

    private const string Qwen3Yarn = """
        {
          "architectures": ["Qwen3ForCausalLM"], "hidden_size": 2560, "head_dim": 128, "intermediate_size": 9728,
          "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 151936,
          "max_position_embeddings": 131072, "rope_theta": 1000000,
          "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
        }
        """;

    [Fact]
    public void Transformers_4_config()
    {
        var c = ModelConfigParser.Parse(Qwen3V4);
        Assert.Equal(["Qwen3ForCausalLM"], c.Architectures);
        Assert.Equal("qwen3", c.ModelType);
        Assert.Equal(4096, c.HiddenSize);
        Assert.Equal(12288, c.IntermediateSize);
        Assert.Equal(36, c.NumHiddenLayers);
        Assert.Equal(32, c.NumAttentionHeads);
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.Equal(128, c.HeadDim);
        Assert.Equal(151936, c.VocabSize);
        Assert.Equal(40960, c.MaxPositionEmbeddings);
        Assert.Equal(1e-6, c.RmsNormEpsilon);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.Equal(DType.BF16, c.DType);
        Assert.Equal(151643, c.BosTokenId);
        Assert.Equal([151645], c.EosTokenIds);
        Assert.Equal(new RopeConfig { Theta = 1_000_000, Type = "default" }, c.Rope);
    }

    [Fact]
    public void Transformers_5_config_with_rope_parameters()
    {
        var c = ModelConfigParser.Parse(Qwen3V5);
        Assert.Equal(DType.F16, c.DType);
        // head_dim 128 × 16 heads ≠ hidden 1024: the explicit value wins.
        Assert.Equal(128, c.HeadDim);
        Assert.True(c.TieWordEmbeddings);
        Assert.Null(c.BosTokenId);
        Assert.Equal([151645, 151643], c.EosTokenIds);
        Assert.Equal(new RopeConfig { Theta = 1_000_000, Type = "default" }, c.Rope);
    }

    [Fact]
    public void Transformers_5_yarn_in_rope_parameters()
    {
        var c = ModelConfigParser.Parse("""
            {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4,
             "vocab_size": 10, "max_position_embeddings": 4096, "partial_rotary_factor": 0.5,
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 50000.0, "factor": 2.0, "beta_fast": 16,
                                 "beta_slow": 2, "mscale": 0.707, "mscale_all_dim": 1.0, "attention_factor": 1.25, "truncate": false}}
            """);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(4, c.NumKeyValueHeads);
        Assert.Null(c.DType);
        var r = c.Rope;
        Assert.Equal(("yarn", 50000.0, 2.0, 4096), (r.Type, r.Theta, r.Factor, r.OriginalMaxPositionEmbeddings));
        Assert.Equal((16.0, 2.0, 0.707, 1.0, 1.25), (r.BetaFast, r.BetaSlow, r.Mscale, r.MscaleAllDim, r.AttentionFactor));
        Assert.False(r.Truncate);
        Assert.Equal(0.5, r.PartialRotaryFactor);
    }

    [Fact]
    public void Per_layer_type_rope_parameters_use_the_full_attention_set()
    {
        var r = ModelConfigParser.Parse(Qwen3V5.Replace("\"rope_parameters\": {\"rope_theta\": 1000000.0, \"rope_type\": \"default\"}",
            "\"rope_parameters\": {\"sliding_attention\": {\"rope_theta\": 10000.0, \"rope_type\": \"default\"}, " +
            "\"full_attention\": {\"rope_theta\": 1000000.0, \"rope_type\": \"linear\", \"factor\": 8.0}}",
            StringComparison.Ordinal)).Rope;
        Assert.Equal(("linear", 1_000_000.0, 8.0), (r.Type, r.Theta, r.Factor));
    }

    [Fact]
    public void Transformers_4_yarn_in_rope_scaling()
    {
        var r = ModelConfigParser.Parse(Qwen3Yarn).Rope;
        Assert.Equal(new RopeConfig { Theta = 1_000_000, Type = "yarn", Factor = 4.0, OriginalMaxPositionEmbeddings = 32768 }, r);
    }

    [Fact]
    public void Legacy_type_key_and_missing_factor_fall_back_like_transformers()
    {
        var r = ModelConfigParser.Parse(Qwen3Yarn.Replace("\"rope_type\": \"yarn\", \"factor\": 4.0,", "\"type\": \"YaRN\",",
            StringComparison.Ordinal)).Rope;
        Assert.Equal("yarn", r.Type);
        Assert.Equal(131072.0 / 32768, r.Factor);

        var linear = ModelConfigParser.Parse(Qwen3V4.Replace("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}",
            StringComparison.Ordinal)).Rope;
        Assert.Equal(("linear", 2.0, null), (linear.Type, linear.Factor, linear.OriginalMaxPositionEmbeddings));

        var yarnWithoutOriginal = ModelConfigParser.Parse(Qwen3V4.Replace("\"rope_scaling\": null",
            "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2.0}", StringComparison.Ordinal)).Rope;
        Assert.Equal(40960, yarnWithoutOriginal.OriginalMaxPositionEmbeddings);
    }

    [Fact]
    public void Missing_optional_fields_take_transformers_defaults()
    {
        var c = ModelConfigParser.Parse("""
            {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 8,
             "vocab_size": 100, "max_position_embeddings": 2048.0, "head_dim": null}
            """);
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.Equal(8, c.HeadDim);
        Assert.Equal(2048, c.MaxPositionEmbeddings);
        Assert.Empty(c.Architectures);
        Assert.Empty(c.EosTokenIds);
        Assert.Equal(new RopeConfig(), c.Rope);
        Assert.Equal(10000.0, c.Rope.Theta);
    }

    [Theory]
    [InlineData("{\"hidden_size\": 64,", "invalid JSON")]
    [InlineData("[]", "expected a JSON object")]
    [InlineData("{\"hidden_size\": 64}", "missing required field 'num_attention_heads'")]
    [InlineData("{\"hidden_size\": \"64\"}", "field 'hidden_size' must be an integer, found \"64\"")]
    public void Broken_configs_give_one_line_errors_naming_the_file(string json, string expected)
    {
        var ex = Assert.Throws<HearthException>(() => ModelConfigParser.Parse(json, "/models/x/config.json"));
        Assert.StartsWith("/models/x/config.json: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Inconsistent_head_counts_and_unknown_dtypes_are_rejected()
    {
        var ex = Assert.Throws<HearthException>(() => ModelConfigParser.Parse(Qwen3V4.Replace("\"num_key_value_heads\": 8",
            "\"num_key_value_heads\": 5", StringComparison.Ordinal)));
        Assert.Contains("not a multiple of num_key_value_heads (5)", ex.Message);
        ex = Assert.Throws<HearthException>(() => ModelConfigParser.Parse(Qwen3V4.Replace("\"bfloat16\"", "\"complex64\"",
            StringComparison.Ordinal)));
        Assert.Contains("unsupported dtype 'complex64'", ex.Message);
        Assert.Equal(DType.BF16, ModelConfigParser.ParseDType("torch.bfloat16"));
    }

    [Fact]
    public void Missing_config_file_names_the_path()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<HearthException>(() => ModelConfigParser.Load(dir.File("config.json")));
        Assert.Contains(dir.File("config.json"), ex.Message);
        ex = Assert.Throws<HearthException>(() => ModelCheckpoint.Open(dir.Path));
        Assert.Contains("config.json", ex.Message);
    }

    [Fact]
    public void Generation_config_reads_every_field_and_a_missing_file_is_empty()
    {
        var g = GenerationConfigParser.Parse("""
            {"eos_token_id": 7, "bos_token_id": 1, "pad_token_id": 0, "do_sample": false, "temperature": 0.7,
             "top_k": 40, "top_p": 0.8, "min_p": 0.05, "repetition_penalty": 1.1, "max_new_tokens": 512,
             "transformers_version": "4.51.0"}
            """);
        Assert.Equal([7], g.EosTokenIds!);
        Assert.Equal((1, 0, false), (g.BosTokenId, g.PadTokenId, g.DoSample));
        Assert.Equal((0.7, 40, 0.8, 0.05), (g.Temperature, g.TopK, g.TopP, g.MinP));
        Assert.Equal((1.1, 512), (g.RepetitionPenalty, g.MaxNewTokens));

        using var dir = new TempDirectory();
        Assert.Same(GenerationConfig.Empty, GenerationConfigParser.LoadOrDefault(dir.File("generation_config.json")));
        Assert.Null(GenerationConfig.Empty.Temperature);
        var ex = Assert.Throws<HearthException>(() => GenerationConfigParser.Parse("{\"top_k\": true}", "g.json"));
        Assert.Equal("g.json: field 'top_k' must be an integer, found true", ex.Message);
    }
}
