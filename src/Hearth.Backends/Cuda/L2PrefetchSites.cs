namespace Hearth.Backends.Cuda;

/// <summary>
/// The short decode kernels that pull the next linear's weights into L2 before their PDL wait
/// (<see cref="CudaBackend.L2PrefetchSites"/>, HEARTH_CUDA_L2_PREFETCH as a mask of these values).
/// </summary>
[Flags]
public enum L2PrefetchSites
{
    None = 0,

    /// <summary>The tensor-core decode attention pulls the o projection (up to <see cref="CudaBackend.L2PrefetchWholeMaxBytes"/>).</summary>
    Attention = 1,

    /// <summary>The add + RMSNorms pull a prefix of gate|up and of the next layer's q|k|v (<see cref="CudaBackend.L2PrefetchPrefixBytes"/>).</summary>
    Norms = 2,

    /// <summary>q/k norm + RoPE + KV write pulls the o projection instead of the attention (its blocks are resident while q|k|v streams).</summary>
    Rope = 4,
}
