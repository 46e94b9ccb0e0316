using System.Text.Json;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// A minimal Qwen3 forward pass over one sequence, written only with IBackend ops, so that the same code
/// runs on the CPU and CUDA backends and any difference in logits comes from the backends. One sequence,
/// paged cache with an identity block table; Forward appends tokens and returns the last token's logits.
/// </summary>
internal sealed class Qwen3Runner : IDisposable
{
    private const int BlockSize = 16;

    private readonly IBackend _backend;
    private readonly BackendPair _memory;
    private readonly int _hidden, _layers, _heads, _kvHeads, _headDim, _inter, _vocab, _maxTokens;
    private readonly float _epsilon;
    private readonly Tensor _embedding, _finalNorm;
    private readonly LinearWeight _lmHead;
    private readonly Layer[] _layerWeights;
    private readonly KvCacheLayer[] _caches;
    private readonly RopeParameters _rope;
    private readonly Tensor _residual, _normed, _qkv, _query, _key, _value, _attention, _projected, _gateUp, _activated, _last, _logits;
    private readonly Tensor _ids, _positions, _slots, _queryStarts, _seqLens, _blockTable, _lastRow;
    private int _numCachedTokens;

    private sealed record Layer(Tensor InputNorm, Tensor PostNorm, Tensor QueryNorm, Tensor KeyNorm, LinearWeight Qkv, LinearWeight O,
        LinearWeight GateUp, LinearWeight Down);

    public Qwen3Runner(string modelDir, Checkpoint checkpoint, IBackend backend, int maxTokens)
    {
        _backend = backend;
        _memory = new BackendPair(backend, backend);
        _maxTokens = maxTokens;
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "config.json"))).RootElement;
        _hidden = config.GetProperty("hidden_size").GetInt32();
        _layers = config.GetProperty("num_hidden_layers").GetInt32();
        _heads = config.GetProperty("num_attention_heads").GetInt32();
        _kvHeads = config.GetProperty("num_key_value_heads").GetInt32();
        _headDim = config.TryGetProperty("head_dim", out var hd) ? hd.GetInt32() : _hidden / _heads;
        _inter = config.GetProperty("intermediate_size").GetInt32();
        _vocab = config.GetProperty("vocab_size").GetInt32();
        _epsilon = config.GetProperty("rms_norm_eps").GetSingle();
        double theta = config.GetProperty("rope_theta").GetDouble();

        _embedding = backend.UploadWeight(checkpoint["model.embed_tokens.weight"]);
        _finalNorm = Norm(checkpoint["model.norm.weight"]);
        _lmHead = LinearWeight.Dense(checkpoint.Contains("lm_head.weight") ? backend.UploadWeight(checkpoint["lm_head.weight"]) : _embedding);
        _layerWeights = new Layer[_layers];
        for (int i = 0; i < _layers; i++)
        {
            string p = $"model.layers.{i}.";
            Tensor W(string name) => backend.UploadWeight(checkpoint[p + name + ".weight"]);
            _layerWeights[i] = new Layer(Norm(checkpoint[p + "input_layernorm.weight"]), Norm(checkpoint[p + "post_attention_layernorm.weight"]),
                Norm(checkpoint[p + "self_attn.q_norm.weight"]), Norm(checkpoint[p + "self_attn.k_norm.weight"]),
                LinearWeight.Dense(W("self_attn.q_proj"), W("self_attn.k_proj"), W("self_attn.v_proj")), LinearWeight.Dense(W("self_attn.o_proj")),
                LinearWeight.Dense(W("mlp.gate_proj"), W("mlp.up_proj")), LinearWeight.Dense(W("mlp.down_proj")));
        }

        float[] invFreq = new float[_headDim / 2];
        for (int i = 0; i < invFreq.Length; i++) invFreq[i] = (float)(1.0 / Math.Pow(theta, (float)(2 * i) / _headDim));
        _rope = new RopeParameters(_memory.Upload(backend, invFreq, new Shape(invFreq.Length), DType.F32), 1f);

        DType act = backend.ActivationDType;
        int numBlocks = (maxTokens + BlockSize - 1) / BlockSize;
        _caches = new KvCacheLayer[_layers];
        var cacheShape = new Shape(numBlocks, BlockSize, _kvHeads, _headDim);
        for (int i = 0; i < _layers; i++) _caches[i] = new KvCacheLayer(_memory.Zeros(backend, cacheShape, act), _memory.Zeros(backend, cacheShape, act));
        _residual = _memory.Zeros(backend, new Shape(maxTokens, _hidden), act);
        _normed = _memory.Zeros(backend, new Shape(maxTokens, _hidden), act);
        _qkv = _memory.Zeros(backend, new Shape(maxTokens, (_heads + 2 * _kvHeads) * _headDim), act);
        _query = _memory.Zeros(backend, new Shape(maxTokens, _heads, _headDim), act);
        _key = _memory.Zeros(backend, new Shape(maxTokens, _kvHeads, _headDim), act);
        _value = _memory.Zeros(backend, new Shape(maxTokens, _kvHeads, _headDim), act);
        _attention = _memory.Zeros(backend, new Shape(maxTokens, _heads, _headDim), act);
        _projected = _memory.Zeros(backend, new Shape(maxTokens, _hidden), act);
        _gateUp = _memory.Zeros(backend, new Shape(maxTokens, 2 * _inter), act);
        _activated = _memory.Zeros(backend, new Shape(maxTokens, _inter), act);
        _last = _memory.Zeros(backend, new Shape(1, _hidden), act);
        _logits = _memory.Zeros(backend, new Shape(1, _vocab), DType.F32);
        _ids = _memory.Zeros(backend, new Shape(maxTokens), DType.I32);
        _positions = _memory.Zeros(backend, new Shape(maxTokens), DType.I32);
        _slots = _memory.Zeros(backend, new Shape(maxTokens), DType.I32);
        _queryStarts = _memory.Zeros(backend, new Shape(2), DType.I32);
        _seqLens = _memory.Zeros(backend, new Shape(1), DType.I32);
        _blockTable = _memory.Ints(backend, Enumerable.Range(0, numBlocks).ToArray(), new Shape(1, numBlocks));
        _lastRow = _memory.Zeros(backend, new Shape(1), DType.I32);
    }

    public int Vocab => _vocab;

    public void Reset() => _numCachedTokens = 0;

    /// <summary>Runs the new tokens after the cached ones and returns the logits of the last one.</summary>
    public float[] Forward(ReadOnlySpan<int> tokens)
    {
        int count = tokens.Length, start = _numCachedTokens;
        if (start + count > _maxTokens) throw new InvalidOperationException($"{start + count} tokens exceed the runner's {_maxTokens}");
        var positions = new int[count];
        for (int i = 0; i < count; i++) positions[i] = start + i;
        _backend.CopyToDevice(tokens, _ids);
        _backend.CopyToDevice<int>(positions, _positions);
        _backend.CopyToDevice<int>(positions, _slots); // identity block table: slot == position
        _backend.CopyToDevice<int>([0, count], _queryStarts);
        _backend.CopyToDevice<int>([start + count], _seqLens);
        _backend.CopyToDevice<int>([count - 1], _lastRow);
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = count, MaxQueryLen = count, MaxSeqLen = start + count,
            QueryStartLocs = _queryStarts, SeqLens = _seqLens, BlockTables = _blockTable,
            SlotMapping = _slots.SliceRows(0, count), Positions = _positions.SliceRows(0, count),
        };
        var residual = _residual.SliceRows(0, count);
        var normed = _normed.SliceRows(0, count);
        var qkv = _qkv.SliceRows(0, count);
        var query = _query.SliceRows(0, count);
        var key = _key.SliceRows(0, count);
        var value = _value.SliceRows(0, count);
        var attention = _attention.SliceRows(0, count);
        var projected = _projected.SliceRows(0, count);
        var gateUp = _gateUp.SliceRows(0, count);
        var activated = _activated.SliceRows(0, count);
        float scale = 1f / MathF.Sqrt(_headDim);

        _backend.Embedding(_embedding, _ids.SliceRows(0, count), residual);
        _backend.RmsNorm(residual, _layerWeights[0].InputNorm, _epsilon, normed);
        for (int l = 0; l < _layers; l++)
        {
            var w = _layerWeights[l];
            _backend.Linear(normed, w.Qkv, qkv);
            _backend.QkNormRope(qkv, w.QueryNorm, w.KeyNorm, _epsilon, metadata.Positions, _rope, query, key, value);
            _backend.WriteKvCache(key, value, _caches[l], metadata.SlotMapping);
            _backend.Attention(query, _caches[l], metadata, scale, attention);
            _backend.Linear(attention.Reshape(new Shape(count, _heads * _headDim)), w.O, projected);
            _backend.AddRmsNorm(residual, projected, w.PostNorm, _epsilon, normed);
            _backend.Linear(normed, w.GateUp, gateUp);
            _backend.SiluMul(gateUp, activated);
            _backend.Linear(activated, w.Down, projected);
            var nextNorm = l + 1 < _layers ? _layerWeights[l + 1].InputNorm : _finalNorm;
            _backend.AddRmsNorm(residual, projected, nextNorm, _epsilon, normed);
        }
        _backend.GatherRows(normed, _lastRow, _last);
        _backend.Linear(_last, _lmHead, _logits);
        _numCachedTokens += count;
        var logits = new float[_vocab];
        _backend.CopyToHost<float>(_logits, logits);
        return logits;
    }

    // Norm weights go to both backends as F32 host copies: bf16 values are exact in F32, and every backend
    // accepts F32 norm weights (CUDA converts them back to the same bf16 bits).
    private Tensor Norm(Tensor host)
    {
        var values = new float[host.NumElements];
        unsafe
        {
            for (int i = 0; i < values.Length; i++)
                values[i] = host.DType switch
                {
                    DType.BF16 => BFloat16Bits.ToSingle(((ushort*)host.Data)[i]),
                    DType.F32 => ((float*)host.Data)[i],
                    _ => (float)((Half*)host.Data)[i],
                };
        }
        return _memory.Weight(_backend, values, host.Shape, DType.F32);
    }

    public void Dispose() => _memory.Dispose();
}
