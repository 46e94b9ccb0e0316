using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The ops of IBackend: argument checks on the host, then one kernel launch (or cuBLASLt call) each.
public sealed unsafe partial class CudaBackend
{
    private const uint ElementwiseThreads = 256;
    private const uint RowThreads = 256;
    private const uint AttentionThreads = 128;
    private const int AttentionMaxHeadDim = 4 * (int)AttentionThreads;

    private nint _embedding, _addBf16, _addF32, _siluMul, _gatherRows, _addBias;
    private nint _rmsNorm, _addRmsNorm, _qkNormRope, _writeKvCache, _pagedAttention, _writeKvCacheFp8, _pagedAttentionFp8;
    private nint _rmsNormX8, _addRmsNormX8, _siluMulX8;
    private readonly Dictionary<int, nint> _qkNormRopeWarp = [], _qkNormRopeToken = [];

    /// <summary>From this many tokens QkNormRope runs a block per token (its rotation table computed once for all heads).</summary>
    private const int QkNormRopeTokenKernelMinTokens = 64;

    private void LoadFunctions()
    {
        _embedding = Function("embedding_bf16");
        _addBf16 = Function("add_bf16");
        _addF32 = Function("add_f32");
        _siluMul = Function("silu_mul_bf16");
        _gatherRows = Function("gather_rows_u16");
        _addBias = Function("add_bias");
        _rmsNorm = Function("rms_norm_bf16");
        _addRmsNorm = Function("add_rms_norm_bf16");
        _qkNormRope = Function("qk_norm_rope_bf16");
        _writeKvCache = Function("write_kv_cache_bf16");
        _pagedAttention = Function("paged_attention_bf16");
        _writeKvCacheFp8 = Function("write_kv_cache_fp8");
        _pagedAttentionFp8 = Function("paged_attention_fp8");
        _rmsNormX8 = Function("rms_norm_bf16x8");
        _addRmsNormX8 = Function("add_rms_norm_bf16x8");
        _siluMulX8 = Function("silu_mul_bf16x8");
        foreach (int dim in new[] { 64, 128, 256 })
        {
            _qkNormRopeWarp[dim] = Function($"qk_norm_rope_warp_d{dim}");
            _qkNormRopeToken[dim] = Function($"qk_norm_rope_token_d{dim}");
        }
    }

    public void Embedding(Tensor table, Tensor tokenIds, Tensor output)
    {
        Require(table, DType.BF16, nameof(table));
        Require(tokenIds, DType.I32, nameof(tokenIds));
        Require(output, DType.BF16, nameof(output));
        int hidden = table.Shape[1], vocab = table.Shape[0];
        int tokens = (int)tokenIds.NumElements;
        if (output.NumElements != (long)tokens * hidden) throw new ArgumentException($"output {output.Shape} is not [{tokens}, {hidden}]");
        nint tablePtr = table.Data, idsPtr = tokenIds.Data, outPtr = output.Data;
        void** args = stackalloc void*[] { &tablePtr, &idsPtr, &outPtr, &hidden, &vocab };
        Launch(_embedding, (uint)tokens, 1, RowThreads, 0, args);
    }

    public void RmsNorm(Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        var (rows, dim) = RowsAndDim(input, weight, output);
        nint inPtr = input.Data, weightPtr = weight.Data, outPtr = output.Data;
        void** args = stackalloc void*[] { &inPtr, &weightPtr, &outPtr, &dim, &epsilon };
        bool wide = Aligned16(dim, inPtr, weightPtr, outPtr);
        Launch(wide ? _rmsNormX8 : _rmsNorm, (uint)rows, 1, NormThreads(rows, wide ? dim / 8 : dim / 4), 0, args);
    }

    public void AddRmsNorm(Tensor residual, Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        var (rows, dim) = RowsAndDim(input, weight, output);
        Require(residual, DType.BF16, nameof(residual));
        if (residual.NumElements != input.NumElements) throw new ArgumentException($"residual {residual.Shape} differs from input {input.Shape}");
        nint residualPtr = residual.Data, inPtr = input.Data, weightPtr = weight.Data, outPtr = output.Data;
        void** args = stackalloc void*[] { &residualPtr, &inPtr, &weightPtr, &outPtr, &dim, &epsilon };
        bool wide = Aligned16(dim, residualPtr, inPtr, weightPtr, outPtr);
        Launch(wide ? _addRmsNormX8 : _addRmsNorm, (uint)rows, 1, NormThreads(rows, wide ? dim / 8 : dim / 4), 0, args);
    }

    public void Linear(Tensor input, LinearWeight weight, Tensor output)
    {
        Require(input, DType.BF16, nameof(input));
        if (!weight.IsQuantized && (weight.Format != WeightFormat.Dense || weight.DType != DType.BF16))
            throw new ArgumentException($"the CUDA backend runs dense BF16 weights (uploaded with UploadWeight), not {weight.Format} {weight.DType}");
        if (output.DType is not (DType.BF16 or DType.F32)) throw new ArgumentException($"output must be BF16 or F32, not {output.DType}");
        int inFeatures = weight.InFeatures, outFeatures = weight.OutFeatures;
        int rows = checked((int)(input.NumElements / inFeatures));
        if ((long)rows * inFeatures != input.NumElements) throw new ArgumentException($"input {input.Shape} is not [rows, {inFeatures}]");
        if (output.NumElements != (long)rows * outFeatures) throw new ArgumentException($"output {output.Shape} is not [{rows}, {outFeatures}]");
        _device.MakeCurrent();
        bool outputF32 = output.DType == DType.F32;
        int elementBytes = outputF32 ? 4 : 2;
        int column = 0;
        // One GEMM for parts uploaded back to back, else one per fused part, each writing its column slice through the
        // output's leading dimension.
        if (weight.IsQuantized) LinearQuantized(input, weight, output, rows);
        else if (!TryGemv(input, weight, output, rows))
        {
            if (weight.PartsAreContiguous)
            {
                _gemm.Run(weight.Parts[0].Data, input.Data, output.Data, outFeatures, rows, inFeatures, outFeatures, outputF32);
            }
            else
            {
                for (int p = 0; p < weight.Parts.Count; p++)
                {
                    int partOut = weight.Parts[p].Shape[0];
                    _gemm.Run(weight.Parts[p].Data, input.Data, output.Data + (nint)column * elementBytes, partOut, rows, inFeatures, outFeatures, outputF32);
                    column += partOut;
                }
            }
        }
        if (weight.Bias is { } bias)
        {
            Require(bias, DType.BF16, "bias");
            nint outPtr = output.Data, biasPtr = bias.Data;
            long total = output.NumElements;
            int isF32 = outputF32 ? 1 : 0;
            void** args = stackalloc void*[] { &outPtr, &biasPtr, &outFeatures, &total, &isF32 };
            Launch(_addBias, GridFor(total), 1, ElementwiseThreads, 0, args);
        }
    }

    public void QkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value)
    {
        ValidateQkNormRope(qkv, queryNorm, keyNorm, positions, rope, query, key, value);
        int tokens = query.Shape[0], heads = query.Shape[1], headDim = query.Shape[2], kvHeads = key.Shape[1];
        nint qkvPtr = qkv.Data, qNormPtr = queryNorm?.Data ?? 0, kNormPtr = keyNorm?.Data ?? 0, positionsPtr = positions.Data;
        nint invFreqPtr = rope.InverseFrequencies.Data, qPtr = query.Data, kPtr = key.Data, vPtr = value.Data;
        int rotaryDim = rope.RotaryDim;
        float scaling = rope.AttentionScaling;
        void** args = stackalloc void*[] { &qkvPtr, &qNormPtr, &kNormPtr, &epsilon, &positionsPtr, &invFreqPtr, &rotaryDim, &scaling,
            &qPtr, &kPtr, &vPtr, &heads, &kvHeads, &headDim };
        if (rotaryDim % 64 == 0 && tokens >= QkNormRopeTokenKernelMinTokens && _qkNormRopeToken.TryGetValue(headDim, out nint tokenKernel))
        {
            const int TokenWarps = 8;
            Launch(tokenKernel, (uint)tokens, 1, 32 * TokenWarps, 0, args);
            return;
        }
        if (rotaryDim % 64 == 0 && _qkNormRopeWarp.TryGetValue(headDim, out nint warpKernel))
        {
            const int Warps = 4;
            Launch(warpKernel, (uint)tokens, (uint)((heads + 2 * kvHeads + Warps - 1) / Warps), 32 * Warps, 0, args);
            return;
        }
        uint threads = (uint)Math.Clamp((headDim / 2 + 31) / 32 * 32, 32, 256);
        Launch(_qkNormRope, (uint)tokens, (uint)(heads + 2 * kvHeads), threads, (uint)(headDim * sizeof(float)), args);
    }

    public void WriteKvCache(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        ValidateKvWrite(key, value, cache, slotMapping);
        int rowElements = cache.NumKvHeads * cache.HeadDim;
        int tokens = (int)slotMapping.NumElements;
        nint keyPtr = key.Data, valuePtr = value.Data, keyCachePtr = cache.Key.Data, valueCachePtr = cache.Value.Data, slotsPtr = slotMapping.Data;
        void** args = stackalloc void*[] { &keyPtr, &valuePtr, &keyCachePtr, &valueCachePtr, &slotsPtr, &rowElements };
        Launch(cache.Key.DType == DType.F8E4M3 ? _writeKvCacheFp8 : _writeKvCache, (uint)tokens, 1, RowThreads, 0, args);
    }

    public void Attention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        Require(query, DType.BF16, nameof(query));
        Require(output, DType.BF16, nameof(output));
        RequireKvCache(cache);
        Require(metadata.BlockTables, DType.I32, "metadata.BlockTables");
        int heads = query.Shape[1], headDim = query.Shape[2], kvHeads = cache.NumKvHeads, blockSize = cache.BlockSize;
        if (headDim != cache.HeadDim) throw new ArgumentException($"query head dim {headDim} differs from the cache's {cache.HeadDim}");
        if (headDim > AttentionMaxHeadDim) throw new ArgumentException($"head dim {headDim} is above the supported {AttentionMaxHeadDim}");
        if (heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads are not a multiple of {kvHeads} kv heads");
        if (output.Shape != query.Shape) throw new ArgumentException($"output {output.Shape} differs from query {query.Shape}");
        int tokens = metadata.NumTokens, numSeqs = metadata.NumSeqs;
        if (tokens > query.Shape[0]) throw new ArgumentException($"metadata has {tokens} tokens, query {query.Shape[0]} rows");
        if (tokens == 0 || numSeqs == 0) return;
        int maxBlocksPerSeq = metadata.BlockTables.Shape.Rank == 2 ? metadata.BlockTables.Shape[1] : (int)(metadata.BlockTables.NumElements / numSeqs);
        if (TryFastAttention(query, cache, metadata, scale, output, maxBlocksPerSeq)) return;
        nint qPtr = query.Data, keyCachePtr = cache.Key.Data, valueCachePtr = cache.Value.Data;
        nint startsPtr = metadata.QueryStartLocs.Data, seqLensPtr = metadata.SeqLens.Data, tablesPtr = metadata.BlockTables.Data, outPtr = output.Data;
        void** args = stackalloc void*[] { &qPtr, &keyCachePtr, &valueCachePtr, &startsPtr, &seqLensPtr, &tablesPtr, &maxBlocksPerSeq, &numSeqs,
            &heads, &kvHeads, &headDim, &blockSize, &scale, &outPtr };
        Launch(cache.Key.DType == DType.F8E4M3 ? _pagedAttentionFp8 : _pagedAttention, (uint)tokens, (uint)heads, AttentionThreads, (uint)(headDim * sizeof(float)), args);
    }

    public void SiluMul(Tensor gateUp, Tensor output)
    {
        Require(gateUp, DType.BF16, nameof(gateUp));
        Require(output, DType.BF16, nameof(output));
        int inter = output.Shape[output.Shape.Rank - 1];
        long total = output.NumElements;
        if (gateUp.NumElements != total * 2) throw new ArgumentException($"gateUp {gateUp.Shape} is not twice output {output.Shape}");
        nint gateUpPtr = gateUp.Data, outPtr = output.Data;
        if (Aligned16(inter, gateUpPtr, outPtr))
        {
            long chunks = total / 8;
            void** wideArgs = stackalloc void*[] { &gateUpPtr, &outPtr, &inter, &chunks };
            Launch(_siluMulX8, GridFor(chunks), 1, ElementwiseThreads, 0, wideArgs);
            return;
        }
        void** args = stackalloc void*[] { &gateUpPtr, &outPtr, &inter, &total };
        Launch(_siluMul, GridFor(total), 1, ElementwiseThreads, 0, args);
    }

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        if (a.Shape != b.Shape || a.Shape != output.Shape || a.DType != b.DType || a.DType != output.DType)
            throw new ArgumentException($"add needs equal shapes and dtypes: {a}, {b}, {output}");
        if (a.DType is not (DType.BF16 or DType.F32)) throw new ArgumentException($"add runs BF16 or F32, not {a.DType}");
        nint aPtr = a.Data, bPtr = b.Data, outPtr = output.Data;
        long total = a.NumElements;
        void** args = stackalloc void*[] { &aPtr, &bPtr, &outPtr, &total };
        Launch(a.DType == DType.BF16 ? _addBf16 : _addF32, GridFor(total), 1, ElementwiseThreads, 0, args);
    }

    public void GatherRows(Tensor input, Tensor rows, Tensor output)
    {
        Require(rows, DType.I32, nameof(rows));
        if (input.DType != output.DType || input.Shape.RowElements != output.Shape.RowElements)
            throw new ArgumentException($"gather needs rows of one size and dtype: {input}, {output}");
        long rowBytes = input.Shape.RowElements * input.DType.ElementSizeBytes();
        if (rowBytes % 2 != 0) throw new ArgumentException($"gather copies 2-byte units; {input} rows are {rowBytes} bytes");
        int count = (int)rows.NumElements;
        if (count > output.Shape[0]) throw new ArgumentException($"{count} rows do not fit {output.Shape}");
        int rowUnits = checked((int)(rowBytes / 2));
        nint inPtr = input.Data, rowsPtr = rows.Data, outPtr = output.Data;
        void** args = stackalloc void*[] { &inPtr, &rowsPtr, &outPtr, &rowUnits };
        Launch(_gatherRows, (uint)count, 1, RowThreads, 0, args);
    }

    private void Launch(nint function, uint gridX, uint gridY, uint threads, uint sharedBytes, void** args)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _device.MakeCurrent();
        _device.Launch(function, gridX, gridY, threads, sharedBytes, args);
    }

    // A decode step has a handful of rows: one wide block per row (a thread per unit of work) keeps the latency down.
    private static uint NormThreads(int rows, int unitsPerRow) =>
        rows > 64 ? RowThreads : (uint)Math.Clamp((unitsPerRow + 31) / 32 * 32, 64, 1024);

    /// <summary>Rows of <paramref name="dim"/> bf16 values at these addresses can be moved in 16-byte units.</summary>
    private static bool Aligned16(int dim, params ReadOnlySpan<nint> pointers)
    {
        if (dim % 8 != 0) return false;
        foreach (nint p in pointers) if (p % 16 != 0) return false;
        return true;
    }

    private static uint GridFor(long elements) => (uint)Math.Min((elements + ElementwiseThreads - 1) / ElementwiseThreads, 65536);

    private static (int Rows, int Dim) RowsAndDim(Tensor input, Tensor weight, Tensor output)
    {
        Require(input, DType.BF16, nameof(input));
        Require(output, DType.BF16, nameof(output));
        int dim = input.Shape[input.Shape.Rank - 1];
        RequireVector(weight, dim, nameof(weight));
        if (output.NumElements != input.NumElements) throw new ArgumentException($"output {output.Shape} differs from input {input.Shape}");
        return ((int)(input.NumElements / Math.Max(dim, 1)), dim);
    }

    private static void ValidateQkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, Tensor positions, RopeParameters rope,
        Tensor query, Tensor key, Tensor value)
    {
        Require(qkv, DType.BF16, nameof(qkv));
        Require(query, DType.BF16, nameof(query));
        Require(key, DType.BF16, nameof(key));
        Require(value, DType.BF16, nameof(value));
        Require(positions, DType.I32, nameof(positions));
        Require(rope.InverseFrequencies, DType.F32, "rope.InverseFrequencies");
        int tokens = query.Shape[0], heads = query.Shape[1], headDim = query.Shape[2], kvHeads = key.Shape[1];
        if (key.Shape != new Shape(tokens, kvHeads, headDim) || value.Shape != key.Shape)
            throw new ArgumentException($"key {key.Shape} and value {value.Shape} must be [{tokens}, kvHeads, {headDim}]");
        if (qkv.NumElements != (long)tokens * (heads + 2 * kvHeads) * headDim)
            throw new ArgumentException($"qkv {qkv.Shape} is not [{tokens}, {(heads + 2 * kvHeads) * headDim}]");
        if (rope.RotaryDim > headDim) throw new ArgumentException($"rotary dim {rope.RotaryDim} exceeds head dim {headDim}");
        if (queryNorm is { } qn) RequireVector(qn, headDim, "queryNorm");
        if (keyNorm is { } kn) RequireVector(kn, headDim, "keyNorm");
    }

    private static void ValidateKvWrite(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        Require(key, DType.BF16, nameof(key));
        Require(value, DType.BF16, nameof(value));
        RequireKvCache(cache);
        Require(slotMapping, DType.I32, nameof(slotMapping));
        long rowElements = (long)cache.NumKvHeads * cache.HeadDim;
        if (key.NumElements != slotMapping.NumElements * rowElements || value.NumElements != key.NumElements)
            throw new ArgumentException($"key {key.Shape} and value {value.Shape} must be [{slotMapping.NumElements}, {cache.NumKvHeads}, {cache.HeadDim}]");
    }

    private static void RequireVector(Tensor tensor, int length, string name)
    {
        Require(tensor, DType.BF16, name);
        if (tensor.NumElements != length) throw new ArgumentException($"{name} has {tensor.NumElements} elements, expected {length}");
    }

    private static void Require(Tensor tensor, DType dtype, string name)
    {
        if (tensor.DType != dtype) throw new ArgumentException($"{name} must be {dtype} on the CUDA backend, not {tensor.DType}");
    }
}
