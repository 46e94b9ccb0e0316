using System.Globalization;

namespace Hearth.Models.Gguf;

/// <summary>llama.cpp's tensor names for qwen2/qwen3 (blk.N.attn_q.weight, …) and their Hugging Face counterparts.</summary>
public static class GgufTensorNames
{
    public const string TokenEmbedding = "token_embd.weight";
    public const string OutputNorm = "output_norm.weight";
    public const string Output = "output.weight";

    private static readonly (string Hf, string Gguf)[] Globals =
    [
        ("model.embed_tokens.weight", TokenEmbedding),
        ("model.norm.weight", OutputNorm),
        ("lm_head.weight", Output),
    ];

    // Per-layer names after "model.layers.N." and "blk.N." (weights and biases alike).
    private static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"),
        ("self_attn.k_norm", "attn_k_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];

    /// <summary>The GGUF name of layer <paramref name="layer"/>'s part, e.g. (3, "attn_q", "weight") → blk.3.attn_q.weight.</summary>
    public static string Layer(int layer, string part, string suffix = "weight") =>
        string.Create(CultureInfo.InvariantCulture, $"blk.{layer}.{part}.{suffix}");

    /// <summary>The GGUF name of a Hugging Face tensor name, or null when it has none.</summary>
    public static string? FromHuggingFace(string name)
    {
        foreach (var (hf, gguf) in Globals)
            if (name == hf) return gguf;
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = name.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            return null;
        string rest = name[(dot + 1)..];
        foreach (var (hf, gguf) in LayerParts)
        {
            if (rest == hf + ".weight") return Layer(layer, gguf);
            if (rest == hf + ".bias") return Layer(layer, gguf, "bias");
        }
        return null;
    }

    /// <summary>The Hugging Face name of a GGUF tensor name, or null when it has none.</summary>
    public static string? ToHuggingFace(string name)
    {
        foreach (var (hf, gguf) in Globals)
            if (name == gguf) return hf;
        const string prefix = "blk.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = name.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            return null;
        string rest = name[(dot + 1)..];
        foreach (var (hf, gguf) in LayerParts)
        {
            if (rest == gguf + ".weight") return string.Create(CultureInfo.InvariantCulture, $"model.layers.{layer}.{hf}.weight");
            if (rest == gguf + ".bias") return string.Create(CultureInfo.InvariantCulture, $"model.layers.{layer}.{hf}.bias");
        }
        return null;
    }
}
