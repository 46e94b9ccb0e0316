using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The KV cache write fused into q/k norm + RoPE at decode sizes, without changing IBackend (as CudaBackend.Fusion
// does for SiLU·mul): a QkNormRope that would run the warp-per-head kernel is held back, and if the very next op is
// WriteKvCache of its key and value, one qk_norm_rope_kv_warp launch does both. Any other op, copy,
// synchronization or capture boundary first launches the held-back QkNormRope as usual (FlushPending).
public sealed unsafe partial class CudaBackend
{
    private readonly Dictionary<int, nint> _qkNormRopeKvWarp = [];
    private bool _hasPendingRope;
    private nint _ropeKernel, _ropeQkv, _ropeQueryNorm, _ropeKeyNorm, _ropePositions, _ropeInverseFrequencies, _ropeQuery, _ropeKey, _ropeValue;
    private int _ropeTokens, _ropeHeads, _ropeKvHeads, _ropeHeadDim, _ropeRotaryDim;
    private float _ropeEpsilon, _ropeScaling;
    private long _ropeKeyElements;

    /// <summary>
    /// Fuse WriteKvCache into the decode-size QkNormRope before it (on by default; HEARTH_CUDA_FUSE_KV_WRITE=0 turns it off).
    /// </summary>
    public bool FuseKvWrite { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_KV_WRITE") != "0";

    private void LoadRopeFusionFunctions()
    {
        foreach (int dim in new[] { 64, 128, 256 }) _qkNormRopeKvWarp[dim] = Function($"qk_norm_rope_kv_warp_d{dim}");
    }

    /// <summary>Holds back a warp-kernel QkNormRope that the next WriteKvCache may fuse; false when it must run now.</summary>
    private bool TryDeferQkNormRope(nint warpKernel, nint qkv, nint queryNorm, nint keyNorm, float epsilon, nint positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value)
    {
        if (!FuseKvWrite || !_qkNormRopeKvWarp.ContainsKey(query.Shape[2])) return false;
        FlushPending();
        (_ropeKernel, _ropeQkv, _ropeQueryNorm, _ropeKeyNorm, _ropePositions) = (warpKernel, qkv, queryNorm, keyNorm, positions);
        (_ropeInverseFrequencies, _ropeQuery, _ropeKey, _ropeValue) = (rope.InverseFrequencies.Data, query.Data, key.Data, value.Data);
        (_ropeTokens, _ropeHeads, _ropeKvHeads, _ropeHeadDim) = (query.Shape[0], query.Shape[1], key.Shape[1], query.Shape[2]);
        (_ropeRotaryDim, _ropeEpsilon, _ropeScaling, _ropeKeyElements) = (rope.RotaryDim, epsilon, rope.AttentionScaling, key.NumElements);
        _hasPendingRope = true;
        return true;
    }

    /// <summary>Runs the held-back QkNormRope with this cache write fused in when key and value are its outputs.</summary>
    private bool TryFusedKvWrite(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        if (!_hasPendingRope || key.Data != _ropeKey || value.Data != _ropeValue || key.NumElements != _ropeKeyElements) return false;
        if (slotMapping.NumElements != _ropeTokens || cache.NumKvHeads != _ropeKvHeads || cache.HeadDim != _ropeHeadDim) return false;
        _hasPendingRope = false;
        LaunchRope(_qkNormRopeKvWarp[_ropeHeadDim], cache.Key.Data, cache.Value.Data, slotMapping.Data, cache.Key.DType == DType.F8E4M3 ? 1 : 0);
        return true;
    }

    /// <summary>Launches a held-back QkNormRope unfused; called before anything else touches the stream.</summary>
    private void FlushPendingRope()
    {
        if (!_hasPendingRope) return;
        _hasPendingRope = false;
        LaunchRope(_ropeKernel, 0, 0, 0, 0);
    }

    private void LaunchRope(nint kernel, nint keyCache, nint valueCache, nint slotMapping, int cacheFp8)
    {
        nint qkv = _ropeQkv, qNorm = _ropeQueryNorm, kNorm = _ropeKeyNorm, positions = _ropePositions, invFreq = _ropeInverseFrequencies;
        nint q = _ropeQuery, k = _ropeKey, v = _ropeValue;
        int rotaryDim = _ropeRotaryDim, heads = _ropeHeads, kvHeads = _ropeKvHeads, headDim = _ropeHeadDim;
        float epsilon = _ropeEpsilon, scaling = _ropeScaling;
        // The unfused kernel takes the first 14 arguments only; the driver reads as many as the kernel declares.
        void** args = stackalloc void*[] { &qkv, &qNorm, &kNorm, &epsilon, &positions, &invFreq, &rotaryDim, &scaling,
            &q, &k, &v, &heads, &kvHeads, &headDim, &keyCache, &valueCache, &slotMapping, &cacheFp8 };
        const int Warps = 4;
        Launch(kernel, (uint)_ropeTokens, (uint)((heads + 2 * kvHeads + Warps - 1) / Warps), 32 * Warps, 0, args);
    }
}
