using System.Globalization;
using Hearth.Core;
using Hearth.Models.Safetensors;

namespace Hearth.Models.Tests.Support;

/// <summary>
/// Writes a tiny Qwen3/Qwen2-shaped model folder (hidden 8, 2 heads, 1 KV head, head_dim 4, intermediate 16,
/// vocab 10) with our writer, and lets a test break one thing about it.
/// </summary>
internal sealed class TinyCheckpoint
{
    public const int Hidden = 8, Heads = 2, KvHeads = 1, HeadDim = 4, Intermediate = 16, Vocab = 10;

    public string Architecture { get; init; } = "Qwen3ForCausalLM";
    public int Layers { get; init; } = 2;
    public bool Tied { get; init; }
    public bool AttentionBias { get; init; }
    public DType DType { get; init; } = DType.BF16;
    public bool Sharded { get; init; }

    /// <summary>Tensor names to leave out.</summary>
    public HashSet<string> Omit { get; init; } = [];

    /// <summary>Per-tensor shape overrides.</summary>
    public Dictionary<string, long[]> ShapeOverrides { get; init; } = [];

    /// <summary>Per-tensor dtype overrides.</summary>
    public Dictionary<string, DType> DTypeOverrides { get; init; } = [];

    public string ConfigJson => $$"""
        {
          "architectures": ["{{Architecture}}"],
          "model_type": "{{(Architecture.StartsWith("Qwen2", StringComparison.Ordinal) ? "qwen2" : "qwen3")}}",
          "hidden_size": {{Hidden}}, "intermediate_size": {{Intermediate}},
          "num_hidden_layers": {{Layers}}, "num_attention_heads": {{Heads}}, "num_key_value_heads": {{KvHeads}},
          "head_dim": {{HeadDim}}, "vocab_size": {{Vocab}}, "max_position_embeddings": 128,
          "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "attention_bias": {{(AttentionBias ? "true" : "false")}},
          "tie_word_embeddings": {{(Tied ? "true" : "false")}}, "torch_dtype": "bfloat16", "eos_token_id": 9
        }
        """;

    public List<(string Name, long[] Shape)> TensorShapes()
    {
        bool qwen3 = Architecture == "Qwen3ForCausalLM";
        bool qkvBias = !qwen3 || AttentionBias;
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [Vocab, Hidden]), ("model.norm.weight", [Hidden]) };
        if (!Tied) list.Add(("lm_head.weight", [Vocab, Hidden]));
        for (int i = 0; i < Layers; i++)
        {
            string p = string.Create(CultureInfo.InvariantCulture, $"model.layers.{i}.");
            list.Add((p + "input_layernorm.weight", [Hidden]));
            list.Add((p + "post_attention_layernorm.weight", [Hidden]));
            list.Add((p + "self_attn.q_proj.weight", [Heads * HeadDim, Hidden]));
            list.Add((p + "self_attn.k_proj.weight", [KvHeads * HeadDim, Hidden]));
            list.Add((p + "self_attn.v_proj.weight", [KvHeads * HeadDim, Hidden]));
            list.Add((p + "self_attn.o_proj.weight", [Hidden, Heads * HeadDim]));
            if (qkvBias)
            {
                list.Add((p + "self_attn.q_proj.bias", [Heads * HeadDim]));
                list.Add((p + "self_attn.k_proj.bias", [KvHeads * HeadDim]));
                list.Add((p + "self_attn.v_proj.bias", [KvHeads * HeadDim]));
            }
            if (qwen3 && AttentionBias) list.Add((p + "self_attn.o_proj.bias", [Hidden]));
            if (qwen3)
            {
                list.Add((p + "self_attn.q_norm.weight", [HeadDim]));
                list.Add((p + "self_attn.k_norm.weight", [HeadDim]));
            }
            list.Add((p + "mlp.gate_proj.weight", [Intermediate, Hidden]));
            list.Add((p + "mlp.up_proj.weight", [Intermediate, Hidden]));
            list.Add((p + "mlp.down_proj.weight", [Hidden, Intermediate]));
        }
        return list;
    }

    /// <summary>Deterministic, tensor-specific bytes, so a test can tell tensors apart by content.</summary>
    public static byte[] Content(string name, long sizeBytes)
    {
        uint hash = 2166136261; // FNV-1a, stable across runs unlike string.GetHashCode
        foreach (char c in name) hash = (hash ^ c) * 16777619;
        var random = new Random((int)(hash & 0x7fffffff));
        var bytes = new byte[sizeBytes];
        random.NextBytes(bytes);
        return bytes;
    }

    public List<SafetensorsEntry> Entries()
    {
        var entries = new List<SafetensorsEntry>();
        foreach (var (name, shape) in TensorShapes())
        {
            if (Omit.Contains(name)) continue;
            var actualShape = ShapeOverrides.GetValueOrDefault(name, shape);
            var dtype = DTypeOverrides.GetValueOrDefault(name, DType);
            long numel = actualShape.Aggregate(1L, (a, b) => a * b);
            entries.Add(new SafetensorsEntry(name, dtype, actualShape, Content(name, numel * dtype.ElementSizeBytes())));
        }
        return entries;
    }

    public void WriteTo(string directory)
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson);
        if (Sharded) SafetensorsWriter.WriteSharded(directory, Entries(), maxShardSizeBytes: 400);
        else SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), Entries());
    }
}
