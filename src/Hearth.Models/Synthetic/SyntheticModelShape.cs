using Hearth.Core;

namespace Hearth.Models.Synthetic;

/// <summary>
/// The shape, rope settings and seed of one synthetic Qwen3 checkpoint (docs/random-models.md). Its weights are
/// never stored: <see cref="Tensors"/> lists every checkpoint tensor and <see cref="RandomWeights.FillBf16"/>
/// regenerates its values. Mirrors tools/hearth_synthetic.py's Shape.
/// </summary>
public sealed record SyntheticModelShape(
    string Name,
    ulong Seed,
    int HiddenSize,
    int NumLayers,
    int NumHeads,
    int NumKvHeads,
    int HeadDim,
    int IntermediateSize,
    bool TieWordEmbeddings,
    double RopeTheta,
    int MaxPositionEmbeddings,
    SyntheticConfigStyle ConfigStyle = SyntheticConfigStyle.Transformers4,
    double? YarnFactor = null,
    int? YarnOriginalMaxPositionEmbeddings = null,
    int VocabSize = 151936,
    double RmsNormEps = 1e-6)
{
    /// <summary>Half-width of the noise around 1 in every RMSNorm weight.</summary>
    public const float NormScale = 0.25f;

    public const int BosTokenId = 151643;
    public const int EosTokenId = 151645;

    /// <summary>Uniform half-width of embed_tokens and lm_head: 4/sqrt(hidden), logits of std ~2.3.</summary>
    public static float EmbeddingScale(int hiddenSize) => (float)(4.0 / Math.Sqrt(hiddenSize));

    /// <summary>Uniform half-width of a projection: sqrt(3/fan_in), unit-variance outputs.</summary>
    public static float LinearScale(int fanIn) => (float)Math.Sqrt(3.0 / fanIn);

    public bool IsYarn => YarnFactor is not null;

    /// <summary>Every tensor of the checkpoint, HF names, shape [out, in] for matrices, in file order.</summary>
    public IEnumerable<(string Name, long[] Shape, float Scale)> Tensors()
    {
        Validate();
        long h = HiddenSize, qDim = (long)NumHeads * HeadDim, kvDim = (long)NumKvHeads * HeadDim, inter = IntermediateSize;
        float embed = EmbeddingScale(HiddenSize), fromHidden = LinearScale(HiddenSize);
        yield return ("model.embed_tokens.weight", [VocabSize, h], embed);
        for (int layer = 0; layer < NumLayers; layer++)
        {
            string p = $"model.layers.{layer}.";
            yield return (p + "input_layernorm.weight", [h], NormScale);
            yield return (p + "self_attn.q_proj.weight", [qDim, h], fromHidden);
            yield return (p + "self_attn.k_proj.weight", [kvDim, h], fromHidden);
            yield return (p + "self_attn.v_proj.weight", [kvDim, h], fromHidden);
            yield return (p + "self_attn.o_proj.weight", [h, qDim], LinearScale((int)qDim));
            yield return (p + "self_attn.q_norm.weight", [HeadDim], NormScale);
            yield return (p + "self_attn.k_norm.weight", [HeadDim], NormScale);
            yield return (p + "post_attention_layernorm.weight", [h], NormScale);
            yield return (p + "mlp.gate_proj.weight", [inter, h], fromHidden);
            yield return (p + "mlp.up_proj.weight", [inter, h], fromHidden);
            yield return (p + "mlp.down_proj.weight", [h, inter], LinearScale(IntermediateSize));
        }
        yield return ("model.norm.weight", [h], NormScale);
        if (!TieWordEmbeddings)
            yield return ("lm_head.weight", [VocabSize, h], embed);
    }

    /// <summary>Number of weights stored in the checkpoint (a tied lm_head counts once).</summary>
    public long ParameterCount() => Tensors().Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>The checkpoint's config.json, byte-identical to the golden's "config_json".</summary>
    public string ToConfigJson()
    {
        Validate();
        bool v4 = ConfigStyle == SyntheticConfigStyle.Transformers4;
        var w = new PythonJsonText();
        w.BeginObject();
        w.BeginArray("architectures");
        w.Item("\"Qwen3ForCausalLM\"");
        w.EndArray();
        w.Bool("attention_bias", false);
        w.Float("attention_dropout", 0.0);
        w.Int("bos_token_id", BosTokenId);
        w.Int("eos_token_id", EosTokenId);
        w.Int("head_dim", HeadDim);
        w.String("hidden_act", "silu");
        w.Int("hidden_size", HiddenSize);
        w.Float("initializer_range", 0.02);
        w.Int("intermediate_size", IntermediateSize);
        w.Int("max_position_embeddings", MaxPositionEmbeddings);
        w.Int("max_window_layers", NumLayers);
        w.String("model_type", "qwen3");
        w.Int("num_attention_heads", NumHeads);
        w.Int("num_hidden_layers", NumLayers);
        w.Int("num_key_value_heads", NumKvHeads);
        w.Float("rms_norm_eps", RmsNormEps);
        if (v4)
        {
            if (IsYarn)
            {
                w.BeginObject("rope_scaling");
                WriteYarn(w);
                w.EndObject();
            }
            else
            {
                w.Null("rope_scaling");
            }
            w.Float("rope_theta", RopeTheta);
        }
        else
        {
            w.BeginObject("rope_parameters");
            w.Float("rope_theta", RopeTheta);
            if (IsYarn) WriteYarn(w);
            else w.String("rope_type", "default");
            w.EndObject();
        }
        w.Null("sliding_window");
        w.Bool("tie_word_embeddings", TieWordEmbeddings);
        w.String(v4 ? "torch_dtype" : "dtype", "bfloat16");
        w.String("transformers_version", v4 ? "4.51.0" : "5.17.0");
        w.Bool("use_cache", true);
        w.Bool("use_sliding_window", false);
        w.Int("vocab_size", VocabSize);
        w.EndObject();
        return w.ToString();
    }

    private void WriteYarn(PythonJsonText w)
    {
        w.Float("factor", YarnFactor!.Value);
        w.Int("original_max_position_embeddings", YarnOriginalMaxPositionEmbeddings!.Value);
        w.String("rope_type", "yarn");
    }

    private void Validate()
    {
        if (HiddenSize <= 0 || NumLayers <= 0 || NumHeads <= 0 || NumKvHeads <= 0 || HeadDim <= 0 || IntermediateSize <= 0 || VocabSize <= 0)
            throw new HearthException($"Synthetic model '{Name}': every size must be positive.");
        if (NumHeads % NumKvHeads != 0)
            throw new HearthException($"Synthetic model '{Name}': {NumHeads} attention heads are not a multiple of {NumKvHeads} KV heads.");
        if (HeadDim % 2 != 0)
            throw new HearthException($"Synthetic model '{Name}': head_dim {HeadDim} must be even for rotary embeddings.");
        if (IsYarn != (YarnOriginalMaxPositionEmbeddings is not null))
            throw new HearthException($"Synthetic model '{Name}': YaRN needs both a factor and original_max_position_embeddings.");
    }
}
