using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Config;

namespace Hearth.Models.Qwen3;

/// <summary>
/// Qwen3 (and Qwen2) dense decoder as Hugging Face's Qwen3ForCausalLM computes it: pre-norm blocks with
/// grouped-query attention, per-head q/k RMSNorm, NeoX RoPE and a SwiGLU MLP. Every activation buffer is
/// allocated here once, for the largest step, so a forward pass allocates nothing.
/// </summary>
public sealed class Qwen3Model : ICausalLanguageModel
{
    private readonly IBackend _backend;
    private readonly Qwen3Weights _weights;
    private readonly RopeParameters _rope;
    private readonly float _attentionScale;
    private readonly List<DeviceBuffer> _buffers = [];

    private readonly Tensor _residual;   // [tokens, hidden]
    private readonly Tensor _normed;     // [tokens, hidden]
    private readonly Tensor _qkv;        // [tokens, (heads + 2·kvHeads)·headDim]
    private readonly Tensor _query;      // [tokens, heads, headDim]
    private readonly Tensor _key;        // [tokens, kvHeads, headDim]
    private readonly Tensor _value;      // [tokens, kvHeads, headDim]
    private readonly Tensor _attention;  // [tokens, heads, headDim]
    private readonly Tensor _projected;  // [tokens, hidden] output of o_proj and down_proj
    private readonly Tensor _gateUp;     // [tokens, 2·intermediate]
    private readonly Tensor _activated;  // [tokens, intermediate]
    private readonly Tensor _lastHidden; // [logitRows, hidden]
    private readonly Tensor _logits;     // [logitRows, vocab] F32

    /// <summary>The bound weights (read-only use: sizes, formats).</summary>
    public Qwen3Weights Weights => _weights;

    public Qwen3Model(Qwen3Weights weights, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        if (maxTokensPerStep <= 0 || maxLogitRows <= 0) throw new ArgumentOutOfRangeException(nameof(maxTokensPerStep));
        _backend = backend;
        _weights = weights;
        Config = weights.Config;
        MaxTokensPerStep = maxTokensPerStep;
        MaxLogitRows = maxLogitRows;
        VocabSize = Config.VocabSize;

        var c = Config;
        int t = maxTokensPerStep;
        DType act = backend.ActivationDType;
        _residual = Allocate(act, new Shape(t, c.HiddenSize));
        _normed = Allocate(act, new Shape(t, c.HiddenSize));
        _qkv = Allocate(act, new Shape(t, (c.NumAttentionHeads + 2 * c.NumKeyValueHeads) * c.HeadDim));
        _query = Allocate(act, new Shape(t, c.NumAttentionHeads, c.HeadDim));
        _key = Allocate(act, new Shape(t, c.NumKeyValueHeads, c.HeadDim));
        _value = Allocate(act, new Shape(t, c.NumKeyValueHeads, c.HeadDim));
        _attention = Allocate(act, new Shape(t, c.NumAttentionHeads, c.HeadDim));
        _projected = Allocate(act, new Shape(t, c.HiddenSize));
        _gateUp = Allocate(act, new Shape(t, 2 * c.IntermediateSize));
        _activated = Allocate(act, new Shape(t, c.IntermediateSize));
        _lastHidden = Allocate(act, new Shape(maxLogitRows, c.HiddenSize));
        _logits = Allocate(DType.F32, new Shape(maxLogitRows, c.VocabSize));

        var (inverseFrequencies, attentionScaling) = RopeFrequencies.Compute(c.Rope, c.HeadDim);
        var frequencies = Allocate(DType.F32, new Shape(inverseFrequencies.Length));
        backend.CopyToDevice<float>(inverseFrequencies, frequencies);
        _rope = new RopeParameters(frequencies, attentionScaling);
        _attentionScale = 1f / MathF.Sqrt(c.HeadDim);
    }

    public ModelConfig Config { get; }

    public int VocabSize { get; }

    public int MaxTokensPerStep { get; }

    public int MaxLogitRows { get; }

    public Tensor Forward(Tensor tokenIds, AttentionMetadata metadata, Tensor logitRows, IReadOnlyList<KvCacheLayer> kvCache, Tensor? greedyIds = null)
    {
        int n = tokenIds.Shape[0];
        int rows = logitRows.Shape[0];
        if (n == 0 || n > MaxTokensPerStep) throw new ArgumentOutOfRangeException(nameof(tokenIds), $"{n} tokens, at most {MaxTokensPerStep}");
        if (rows == 0 || rows > MaxLogitRows) throw new ArgumentOutOfRangeException(nameof(logitRows), $"{rows} logit rows, at most {MaxLogitRows}");
        if (kvCache.Count != _weights.Layers.Count) throw new ArgumentException($"{kvCache.Count} cache layers for {_weights.Layers.Count} model layers");

        var b = _backend;
        float eps = (float)Config.RmsNormEpsilon;
        Tensor residual = _residual.SliceRows(0, n), normed = _normed.SliceRows(0, n);
        Tensor qkv = _qkv.SliceRows(0, n), query = _query.SliceRows(0, n), key = _key.SliceRows(0, n), value = _value.SliceRows(0, n);
        Tensor attention = _attention.SliceRows(0, n), projected = _projected.SliceRows(0, n);
        Tensor gateUp = _gateUp.SliceRows(0, n), activated = _activated.SliceRows(0, n);
        Tensor attentionFlat = attention.Reshape(new Shape(n, Config.NumAttentionHeads * Config.HeadDim));

        if (_weights.QuantizedEmbedding is { } quantizedTable) b.QuantizedEmbedding(quantizedTable, tokenIds, residual);
        else b.Embedding(_weights.Embedding, tokenIds, residual);
        b.RmsNorm(residual, _weights.Layers[0].InputLayerNorm, eps, normed);
        for (int i = 0; i < _weights.Layers.Count; i++)
        {
            var layer = _weights.Layers[i];
            b.Linear(normed, layer.Qkv, qkv);
            b.QkNormRopeWriteKv(qkv, layer.QueryNorm, layer.KeyNorm, eps, metadata.Positions, _rope, query, key, value,
                kvCache[i], metadata.SlotMapping);
            b.Attention(query, kvCache[i], metadata, _attentionScale, attention);
            b.Linear(attentionFlat, layer.O, projected);
            b.AddRmsNorm(residual, projected, layer.PostAttentionLayerNorm, eps, normed);
            b.LinearSiluMul(normed, layer.GateUp, gateUp, activated);
            b.Linear(activated, layer.Down, projected);
            Tensor nextNorm = i + 1 < _weights.Layers.Count ? _weights.Layers[i + 1].InputLayerNorm : _weights.FinalNorm;
            b.AddRmsNorm(residual, projected, nextNorm, eps, normed);
        }

        Tensor lastHidden = _lastHidden.SliceRows(0, rows), logits = _logits.SliceRows(0, rows);
        b.GatherRows(normed, logitRows, lastHidden);
        if (greedyIds is null) b.Linear(lastHidden, _weights.LmHead, logits);
        else b.LinearArgMax(lastHidden, _weights.LmHead, logits, greedyIds.Value);
        return logits;
    }

    private Tensor Allocate(DType dtype, Shape shape)
    {
        var buffer = _backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        _buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    /// <summary>Frees the activation buffers and the weights (the checkpoint mapping is the caller's).</summary>
    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
        _weights.Dispose();
    }
}
