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

    private void LoadRopeFusionFunctions()
    {
        foreach (int dim in new[] { 64, 128, 256 }) _qkNormRopeKvWarp[dim] = Function($"qk_norm_rope_kv_warp_d{dim}");
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
