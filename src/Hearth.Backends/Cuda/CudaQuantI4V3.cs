namespace Hearth.Backends.Cuda;

/// <summary>Session 11's int4 decode kernels (HEARTH_CUDA_I4_V3, <see cref="CudaQuantI4.ParseV3"/>).</summary>
public enum CudaQuantI4V3
{
    /// <summary>"0": session 10's kernels.</summary>
    Off,

    /// <summary>Default: x's group sums from one MMA every two k-tiles (x as A, ones as B) instead of an all-ones MMA a k-tile.</summary>
    HalfSums,

    /// <summary>"qz": q − z operands (integer zero points only), no group sums at all.</summary>
    ZeroOperands,

    /// <summary>"xp": session 10's arithmetic with the unpredicated x loads (the same bits as session 10).</summary>
    PointerX,
}
