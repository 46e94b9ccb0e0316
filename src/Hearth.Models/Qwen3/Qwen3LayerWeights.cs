using System.Globalization;
using Hearth.Backends;
using Hearth.Core.Config;

namespace Hearth.Models.Qwen3;

/// <summary>One decoder layer's weights, bound in backend memory. Shapes are [out, in] for linear parts.</summary>
public sealed class Qwen3LayerWeights
{
    private Qwen3LayerWeights(Tensor inputLayerNorm, LinearWeight qkv, Tensor? queryNorm, Tensor? keyNorm, LinearWeight o,
        Tensor postAttentionLayerNorm, LinearWeight gateUp, LinearWeight down)
    {
        InputLayerNorm = inputLayerNorm;
        Qkv = qkv;
        QueryNorm = queryNorm;
        KeyNorm = keyNorm;
        O = o;
        PostAttentionLayerNorm = postAttentionLayerNorm;
        GateUp = gateUp;
        Down = down;
    }

    /// <summary>[hidden]</summary>
    public Tensor InputLayerNorm { get; }

    /// <summary>Parts q [heads·headDim, hidden], k and v [kvHeads·headDim, hidden]; bias [(heads + 2·kvHeads)·headDim] on Qwen2.</summary>
    public LinearWeight Qkv { get; }

    /// <summary>[headDim] per-head RMSNorm of queries (Qwen3); null on Qwen2.</summary>
    public Tensor? QueryNorm { get; }

    /// <summary>[headDim] per-head RMSNorm of keys (Qwen3); null on Qwen2.</summary>
    public Tensor? KeyNorm { get; }

    /// <summary>[hidden, heads·headDim]</summary>
    public LinearWeight O { get; }

    /// <summary>[hidden]</summary>
    public Tensor PostAttentionLayerNorm { get; }

    /// <summary>Parts gate and up, each [intermediate, hidden].</summary>
    public LinearWeight GateUp { get; }

    /// <summary>[hidden, intermediate]</summary>
    public LinearWeight Down { get; }

    internal static Qwen3LayerWeights Load(Qwen3Weights.Binder binder, int layer)
    {
        ModelConfig c = binder.Config;
        string p = string.Create(CultureInfo.InvariantCulture, $"model.layers.{layer}.");
        int qOut = c.NumAttentionHeads * c.HeadDim;
        int kvOut = c.NumKeyValueHeads * c.HeadDim;
        var hidden = new Shape(c.HiddenSize);

        var q = binder.Weight(p + "self_attn.q_proj.weight", new Shape(qOut, c.HiddenSize));
        var k = binder.Weight(p + "self_attn.k_proj.weight", new Shape(kvOut, c.HiddenSize));
        var v = binder.Weight(p + "self_attn.v_proj.weight", new Shape(kvOut, c.HiddenSize));
        Tensor? qkvBias = binder.HasQkvBias
            ? binder.ConcatenatedBias(
                (p + "self_attn.q_proj.bias", qOut), (p + "self_attn.k_proj.bias", kvOut), (p + "self_attn.v_proj.bias", kvOut))
            : null;
        Tensor? oBias = binder.HasOutputBias ? binder.Weight(p + "self_attn.o_proj.bias", hidden) : null;

        Tensor? queryNorm = null, keyNorm = null;
        if (binder.HasQkNorm)
        {
            queryNorm = binder.Weight(p + "self_attn.q_norm.weight", new Shape(c.HeadDim));
            keyNorm = binder.Weight(p + "self_attn.k_norm.weight", new Shape(c.HeadDim));
        }

        return new Qwen3LayerWeights(
            binder.Weight(p + "input_layernorm.weight", hidden),
            new LinearWeight(WeightFormat.Dense, [q, k, v], qkvBias),
            queryNorm,
            keyNorm,
            new LinearWeight(WeightFormat.Dense, [binder.Weight(p + "self_attn.o_proj.weight", new Shape(c.HiddenSize, qOut))], oBias),
            binder.Weight(p + "post_attention_layernorm.weight", hidden),
            LinearWeight.Dense(
                binder.Weight(p + "mlp.gate_proj.weight", new Shape(c.IntermediateSize, c.HiddenSize)),
                binder.Weight(p + "mlp.up_proj.weight", new Shape(c.IntermediateSize, c.HiddenSize))),
            LinearWeight.Dense(binder.Weight(p + "mlp.down_proj.weight", new Shape(c.HiddenSize, c.IntermediateSize))));
    }
}
