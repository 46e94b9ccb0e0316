namespace Hearth.Backends.Cuda;

/// <summary>Which gemv_quant_i4.cu kernel a g4 launch takes (CudaQuantI4.Plan).</summary>
internal enum CudaQuantI4Kernel
{
    /// <summary>None: the launch stays on main's stream kernels.</summary>
    None,

    /// <summary>W 4, L 4, D 3 with the lop3 operands, 3 blocks an SM.</summary>
    ThreeStage,

    /// <summary>W 4, L 4, D 2 with the lop3 operands, 4 blocks an SM.</summary>
    TwoStage,

    /// <summary>Session 9's W 4, L 4, D 3 (HEARTH_CUDA_I4_V2=0).</summary>
    Session9,

    /// <summary>Session 11: W 4, L 4, D 3, x's group sums at half the MMAs, 3 blocks an SM.</summary>
    HalfSumsThreeStage,

    /// <summary>Session 11: W 4, L 4, D 2, x's group sums at half the MMAs, 4 blocks an SM.</summary>
    HalfSumsTwoStage,

    /// <summary>Session 11: W 4, L 4, D 3 with q − z operands (integer zero points), 3 blocks an SM.</summary>
    ZeroThreeStage,

    /// <summary>Session 11: W 4, L 4, D 2 with q − z operands, 4 blocks an SM.</summary>
    ZeroTwoStage,

    /// <summary>Session 11: W 4, L 4, D 3, session 10's arithmetic with unpredicated x loads.</summary>
    PointerXThreeStage,

    /// <summary>Session 11: W 4, L 4, D 2, session 10's arithmetic with unpredicated x loads.</summary>
    PointerXTwoStage,
}
