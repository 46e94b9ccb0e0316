using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Splits fused qkv rows into query, key and value heads, applies Qwen3's per-head RMSNorm to query and key,
/// then NeoX RoPE, one chunk of tokens per item. Matches HF in f32: cos/sin of (position · invFreq) in f32
/// times attention scaling, and x·cos + rotate_half(x)·sin without fused multiply-adds.
/// </summary>
internal sealed unsafe class QkNormRopeWork : IParallelWork
{
    public const int MaxRotaryDim = 1024;
    private const int TokensPerItem = 4;

    private CpuSimdLevel _level;
    private float* _qkv; // [tokens, (heads + 2·kvHeads)·headDim]
    private float* _query; // [tokens, heads, headDim]
    private float* _key, _value; // [tokens, kvHeads, headDim]
    private byte* _queryNorm, _keyNorm; // [headDim] or null
    private DType _queryNormType, _keyNormType;
    private int* _positions; // [tokens]
    private float* _inverseFrequencies; // [rotaryDim / 2]
    private float _attentionScaling, _epsilon;
    private int _tokens, _heads, _kvHeads, _headDim, _rotaryHalf;

    public int Prepare(CpuSimdLevel level, Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon,
        Tensor positions, RopeParameters rope, Tensor query, Tensor key, Tensor value)
    {
        CpuChecks.F32(qkv, "qkv");
        CpuChecks.F32(query, "query");
        CpuChecks.F32(key, "key");
        CpuChecks.F32(value, "value");
        CpuChecks.I32(positions, "positions");
        CpuChecks.F32(rope.InverseFrequencies, "RoPE inverse frequencies");
        if (query.Shape.Rank != 3 || key.Shape.Rank != 3) throw new ArgumentException($"query {query.Shape} and key {key.Shape} must be [tokens, heads, headDim]");
        CpuChecks.SameShape(key, value, "QkNormRope key and value");
        int tokens = query.Shape[0], heads = query.Shape[1], headDim = query.Shape[2], kvHeads = key.Shape[1];
        if (key.Shape[0] != tokens || key.Shape[2] != headDim) throw new ArgumentException($"key {key.Shape} does not match query {query.Shape}");
        if (qkv.Shape.Rank < 2 || qkv.Shape[0] != tokens || CpuChecks.RowLength(qkv) != (heads + 2 * kvHeads) * headDim)
            throw new ArgumentException($"qkv {qkv.Shape} is not [{tokens}, {(heads + 2 * kvHeads) * headDim}]");
        if (positions.NumElements != tokens) throw new ArgumentException($"positions has {positions.NumElements} elements, expected {tokens}");
        if (rope.RotaryDim > headDim || rope.RotaryDim > MaxRotaryDim)
            throw new ArgumentException($"rotary dim {rope.RotaryDim} exceeds head dim {headDim} or {MaxRotaryDim}");
        _queryNorm = NormPointer(queryNorm, headDim, out _queryNormType);
        _keyNorm = NormPointer(keyNorm, headDim, out _keyNormType);
        _level = level;
        _qkv = (float*)qkv.Data;
        _query = (float*)query.Data;
        _key = (float*)key.Data;
        _value = (float*)value.Data;
        _positions = (int*)positions.Data;
        _inverseFrequencies = (float*)rope.InverseFrequencies.Data;
        _attentionScaling = rope.AttentionScaling;
        _epsilon = epsilon;
        _tokens = tokens;
        _heads = heads;
        _kvHeads = kvHeads;
        _headDim = headDim;
        _rotaryHalf = rope.RotaryDim / 2;
        return (tokens + TokensPerItem - 1) / TokensPerItem;
    }

    private static byte* NormPointer(Tensor? norm, int headDim, out DType dtype)
    {
        dtype = DType.F32;
        if (norm is not { } n) return null;
        CpuChecks.WeightDType(n.DType, "q/k norm");
        if (n.NumElements != headDim) throw new ArgumentException($"q/k norm has {n.NumElements} elements, expected {headDim}");
        dtype = n.DType;
        return (byte*)n.Data;
    }

    public void Execute(int item)
    {
        switch (_level)
        {
            case CpuSimdLevel.Vector512: ExecuteAt<Simd512, Vector512<float>>(item); break;
            case CpuSimdLevel.Vector256: ExecuteAt<Simd256, Vector256<float>>(item); break;
            case CpuSimdLevel.Vector128: ExecuteAt<Simd128, Vector128<float>>(item); break;
            default: ExecuteAt<SimdScalar, float>(item); break;
        }
    }

    private void ExecuteAt<TS, TV>(int item) where TS : ISimd<TV> where TV : struct
    {
        int half = _rotaryHalf, d = _headDim;
        float* cos = stackalloc float[Math.Max(half, 1)]; // Prepare bounds half by MaxRotaryDim / 2
        float* sin = stackalloc float[Math.Max(half, 1)];
        int end = Math.Min((item + 1) * TokensPerItem, _tokens);
        for (int t = item * TokensPerItem; t < end; t++)
        {
            float position = _positions[t];
            for (int i = 0; i < half; i++)
            {
                float angle = position * _inverseFrequencies[i];
                cos[i] = MathF.Cos(angle) * _attentionScaling;
                sin[i] = MathF.Sin(angle) * _attentionScaling;
            }
            float* row = _qkv + (nint)t * (_heads + 2 * _kvHeads) * d;
            for (int h = 0; h < _heads; h++)
            {
                float* dst = _query + ((nint)t * _heads + h) * d;
                NormHead<TS, TV>(row + (nint)h * d, _queryNorm, _queryNormType, dst, d);
                Rotate<TS, TV>(dst, cos, sin, half);
            }
            float* keys = row + (nint)_heads * d;
            float* values = keys + (nint)_kvHeads * d;
            for (int h = 0; h < _kvHeads; h++)
            {
                float* dst = _key + ((nint)t * _kvHeads + h) * d;
                NormHead<TS, TV>(keys + (nint)h * d, _keyNorm, _keyNormType, dst, d);
                Rotate<TS, TV>(dst, cos, sin, half);
            }
            Buffer.MemoryCopy(values, _value + (nint)t * _kvHeads * d, (long)_kvHeads * d * sizeof(float), (long)_kvHeads * d * sizeof(float));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NormHead<TS, TV>(float* source, byte* norm, DType normType, float* destination, int d)
        where TS : ISimd<TV> where TV : struct
    {
        if (norm == null)
        {
            Buffer.MemoryCopy(source, destination, (long)d * sizeof(float), (long)d * sizeof(float));
            return;
        }
        switch (normType)
        {
            case DType.BF16: RowKernels.RmsNorm<TS, TV, Bf16Kind>(source, norm, destination, d, _epsilon); break;
            case DType.F16: RowKernels.RmsNorm<TS, TV, F16Kind>(source, norm, destination, d, _epsilon); break;
            default: RowKernels.RmsNorm<TS, TV, F32Kind>(source, norm, destination, d, _epsilon); break;
        }
    }

    /// <summary>x[i], x[i + half] ← x[i]·cos − x[i + half]·sin, x[i + half]·cos + x[i]·sin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rotate<TS, TV>(float* x, float* cos, float* sin, int half) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        int i = 0;
        for (; i + c <= half; i += c)
        {
            TV x1 = TS.Load(x + i), x2 = TS.Load(x + half + i);
            TV cv = TS.Load(cos + i), sv = TS.Load(sin + i);
            TS.Store(x + i, TS.Subtract(TS.Multiply(x1, cv), TS.Multiply(x2, sv)));
            TS.Store(x + half + i, TS.Add(TS.Multiply(x2, cv), TS.Multiply(x1, sv)));
        }
        for (; i < half; i++)
        {
            float x1 = x[i], x2 = x[half + i];
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[half + i] = x2 * cos[i] + x1 * sin[i];
        }
    }
}
