using Hearth.Core;

namespace Hearth.Backends.Cuda;

// IBackend.QkNormRopeWriteKv as one launch at decode sizes: qk_norm_rope_kv_warp writes the normed, rotated key
// and the value to the paged cache as well as to key and value. Other shapes run QkNormRope then WriteKvCache.
public sealed unsafe partial class CudaBackend
{
    private readonly Dictionary<int, nint> _qkNormRopeKvWarp = [];

    /// <summary>
    /// Fuse WriteKvCache into the decode-size QkNormRope before it (on by default; HEARTH_CUDA_FUSE_KV_WRITE=0 turns it off).
    /// </summary>
    public bool FuseKvWrite { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_KV_WRITE") != "0";

    private readonly Dictionary<int, nint> _decodeMmaRope = [];

    /// <summary>
    /// Run a decode step's q/k norm, RoPE and KV write inside the tensor-core decode attention (on by default;
    /// HEARTH_CUDA_FUSE_ROPE_ATTENTION=0 launches them as two kernels).
    /// </summary>
    public bool FuseRopeIntoAttention { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_ROPE_ATTENTION") != "0";

    /// <summary>Launches of the fused rope + decode attention kernel so far (the parity checks' proof that it ran).</summary>
    public long NumRopeDecodeLaunches { get; private set; }

    private void LoadRopeFusionFunctions()
    {
        foreach (int dim in new[] { 64, 128, 256 }) _qkNormRopeKvWarp[dim] = Function($"qk_norm_rope_kv_warp_d{dim}");
        foreach (int dim in new[] { 64, 128 }) _decodeMmaRope[dim] = Function($"decode_attention_mma_rope_d{dim}");
    }

    public void QkNormRopeAttention(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, RopeParameters rope, Tensor query,
        Tensor key, Tensor value, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        if (!TryRopeDecode(qkv, queryNorm, keyNorm, epsilon, rope, query, key, value, cache, metadata, scale, output))
        {
            QkNormRopeWriteKv(qkv, queryNorm, keyNorm, epsilon, metadata.Positions, rope, query, key, value, cache, metadata.SlotMapping);
            Attention(query, cache, metadata, scale, output);
        }
    }

    // The fused kernel is decode_attention_mma_o4 with the rope stage in front, so it stands in only where the
    // unfused step would run the warp q/k norm kernel and then exactly that attention kernel.
    private bool TryRopeDecode(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, RopeParameters rope, Tensor query,
        Tensor key, Tensor value, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        int tokens = query.Shape[0], heads = query.Shape[1], headDim = query.Shape[2], kvHeads = key.Shape[1];
        int numSeqs = metadata.NumSeqs;
        if (!FuseRopeIntoAttention || !FuseKvWrite || !UseFastAttention || !UseFusedDecode || !TensorCoreDecodeFourBlocks) return false;
        if (!_decodeMmaRope.TryGetValue(headDim, out nint kernel) || cache.Key.DType != DType.BF16 || kvHeads == 0 || heads % kvHeads != 0) return false;
        if (rope.RotaryDim % 64 != 0 || tokens >= QkNormRopeTokenKernelMinTokens) return false;
        if (metadata.MaxQueryLen != 1 || metadata.NumTokens != numSeqs || numSeqs != tokens || heads / kvHeads > DecodeMaxGroup) return false;
        if (!DecodeKernelPlan.UseTensorCores(numSeqs, headDim, false, TensorCoreDecodeMinSeqs, TensorCoreDecodeFp8)) return false;
        if (_decodeMmaPipe.TryGetValue((headDim, DecodePipelineStages), out var pipe)
            && (PipelinedDecodeAnyBatch || DecodeKernelPlan.UsePipeline(numSeqs * kvHeads, _device.NumMultiprocessors, pipe.BlocksPerSm))) return false;

        ValidateQkNormRope(qkv, queryNorm, keyNorm, metadata.Positions, rope, query, key, value);
        ValidateKvWrite(key, value, cache, metadata.SlotMapping);
        int maxBlocksPerSeq = ValidateAttention(query, cache, metadata, output);
        int blockSize = cache.BlockSize, group = heads / kvHeads;
        int splits = DecodeSplitPlan.Splits(numSeqs, kvHeads, maxBlocksPerSeq, blockSize, _device.NumMultiprocessors, _decodeBlocksPerSm);
        int minKeys = DecodeSplitPlan.MinKeysPerSplit, rotaryDim = rope.RotaryDim;
        float scaling = rope.AttentionScaling;
        nint qPtr = query.Data, keyCachePtr = cache.Key.Data, valueCachePtr = cache.Value.Data, outPtr = output.Data;
        nint seqLensPtr = metadata.SeqLens.Data, tablesPtr = metadata.BlockTables.Data;
        nint partialOut = _fusedWorkspace!.Data;
        nint partialMax = partialOut + (nint)(_fusedPartialFloats * sizeof(float));
        nint partialSum = partialMax + (nint)(_fusedPartialRows * sizeof(float));
        nint counters = partialSum + (nint)(_fusedPartialRows * sizeof(float));
        nint qkvPtr = qkv.Data, qNorm = queryNorm?.Data ?? 0, kNorm = keyNorm?.Data ?? 0, positionsPtr = metadata.Positions.Data;
        nint invFreq = rope.InverseFrequencies.Data, keyPtr = key.Data, valuePtr = value.Data, slots = metadata.SlotMapping.Data;
        void** args = stackalloc void*[] { &qPtr, &keyCachePtr, &valueCachePtr, &seqLensPtr, &tablesPtr, &maxBlocksPerSeq, &heads, &kvHeads,
            &blockSize, &scale, &splits, &minKeys, &outPtr, &partialOut, &partialMax, &partialSum, &counters,
            &qkvPtr, &qNorm, &kNorm, &epsilon, &positionsPtr, &invFreq, &rotaryDim, &scaling, &keyPtr, &valuePtr, &slots };
        uint shared = (uint)(FusedWarps * group * headDim * sizeof(float));
        LaunchZ(kernel, (uint)numSeqs, (uint)kvHeads, (uint)splits, DecodeThreads, shared, args);
        NumRopeDecodeLaunches++;
        return true;
    }

    public void QkNormRopeWriteKv(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        int tokens = query.Shape[0], heads = query.Shape[1], headDim = query.Shape[2], kvHeads = key.Shape[1];
        bool fusable = FuseKvWrite && rope.RotaryDim % 64 == 0 && tokens < QkNormRopeTokenKernelMinTokens
            && _qkNormRopeWarp.ContainsKey(headDim) && _qkNormRopeKvWarp.ContainsKey(headDim);
        if (!fusable)
        {
            // Each op checks its own arguments.
            QkNormRope(qkv, queryNorm, keyNorm, epsilon, positions, rope, query, key, value);
            WriteKvCache(key, value, cache, slotMapping);
            return;
        }
        ValidateQkNormRope(qkv, queryNorm, keyNorm, positions, rope, query, key, value);
        ValidateKvWrite(key, value, cache, slotMapping);
        nint qkvPtr = qkv.Data, qNorm = queryNorm?.Data ?? 0, kNorm = keyNorm?.Data ?? 0, positionsPtr = positions.Data;
        nint invFreq = rope.InverseFrequencies.Data, q = query.Data, k = key.Data, v = value.Data;
        nint keyCache = cache.Key.Data, valueCache = cache.Value.Data, slots = slotMapping.Data;
        int rotaryDim = rope.RotaryDim, cacheFp8 = cache.Key.DType == DType.F8E4M3 ? 1 : 0;
        float scaling = rope.AttentionScaling;
        void** args = stackalloc void*[] { &qkvPtr, &qNorm, &kNorm, &epsilon, &positionsPtr, &invFreq, &rotaryDim, &scaling,
            &q, &k, &v, &heads, &kvHeads, &headDim, &keyCache, &valueCache, &slots, &cacheFp8 };
        const int Warps = 4;
        Launch(_qkNormRopeKvWarp[headDim], (uint)tokens, (uint)((heads + 2 * kvHeads + Warps - 1) / Warps), 32 * Warps, 0, args);
    }
}
