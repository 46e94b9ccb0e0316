namespace Hearth.Backends.Cuda;

/// <summary>
/// The kernels written for programmatic dependent launch (PDL, sm_90+), per kernel module. Each of them runs
/// HEARTH_PDL_WAIT (common.cu) in every block before it reads anything an earlier kernel wrote, before its first
/// global write and before it exits; only they are launched with programmatic stream serialization. A kernel
/// launched that way without the wait could read its predecessor's output before it is written, so a kernel joins
/// this list only together with the wait (tests check that each module listed here uses it).
/// </summary>
internal static class ProgrammaticLaunchKernels
{
    private static readonly int[] RopeHeadDims = [64, 128, 256];

    public static readonly IReadOnlyList<(string Module, string[] Kernels)> ByModule =
    [
        ("gemv.cu", ["gemv_bf16", "gemv_silu_bf16"]),
        ("gemv_quant_stream.cu", ["gemv_g4_stream", "gemv_g8_stream", "gemv_f8_stream", "gemv_silu_g4_stream", "gemv_silu_g8_stream", "gemv_silu_f8_stream",
            "gemv_g4g8_stream", "gemv_g4_ring_stream"]),
        ("gemv_quant_i4.cu", [CudaQuantI4.KernelName, CudaQuantI4.TwoStageKernelName, CudaQuantI4.Session9KernelName,
            .. CudaQuantI4.Session11KernelNames.Values]),
        ("gemv_kquant6.cu", ["gemv_g6_stream", "gemv_g6_stream_w8", "gemv_silu_g6_stream", "gemv_g4g6_stream",
            "gemv_k4_stream", "gemv_k4_stream_w8", "gemv_silu_k4_stream", "gemv_k4g6_stream", "gemv_k4g6_stream_fast",
            "gemv_k4_stream_fast", "gemv_k4_stream_w8_fast", "gemv_silu_k4_stream_fast", "gemv_g6_stream_fast", "gemv_silu_g6_stream_fast",
            "gemv_k4g6_stream_g6f", "gemv_k4g6_stream_fast_g6f"]),
        (CudaQuantK4Decode.ModuleName, ["gemv_k4n_w4d2", "gemv_k4n_w4d3", "gemv_k4n_w8d2", "gemv_k4m_w4d3", "gemv_k4m_w4d2", "gemv_g6m_w4d3", "gemv_g6m_w4d2"]),
        ("gemv_quant_wide.cu", ["gemv_g4_wide", "gemv_f8_wide", "gemv_silu_g4_wide", "gemv_silu_f8_wide", "gemv_f8_wide_h", "gemv_silu_f8_wide_h"]),
        ("norm.cu", ["rms_norm_bf16", "add_rms_norm_bf16", "rms_norm_bf16x8", "add_rms_norm_bf16x8",
            .. RopeHeadDims.SelectMany(d => new[] { $"qk_norm_rope_warp_d{d}", $"qk_norm_rope_kv_warp_d{d}", $"qk_norm_rope_token_d{d}" })]),
        ("elementwise.cu", ["embedding_bf16", "add_bf16", "add_f32", "silu_mul_bf16", "silu_mul_bf16x8", "argmax_rows_f32", "argmax_rows_split_f32"]),
        ("decode_mma.cu", ["decode_attention_mma_d64", "decode_attention_mma_d128", "decode_attention_mma_fp8_d64",
            "decode_attention_mma_fp8_d128", "decode_attention_mma_o4_d64", "decode_attention_mma_o4_d128", "decode_attention_mma_cl_d64",
            "decode_attention_mma_cl_d128", "decode_attention_mma_cl_fp8_d64", "decode_attention_mma_cl_fp8_d128"]),
        ("decode_mma_pipe.cu", ["decode_attention_mma_pipe2_d64", "decode_attention_mma_pipe2_d128", "decode_attention_mma_pipe3_d64",
            "decode_attention_mma_pipe3_d128"]),
    ];

    /// <summary>
    /// PDL is on for GPUs of compute capability 9.0 and newer unless HEARTH_CUDA_PDL is "0"; older GPUs have no
    /// griddepcontrol and keep plain launches whatever the variable says.
    /// </summary>
    public static bool IsEnabled(int computeMajor, string? environmentValue) => computeMajor >= 9 && environmentValue != "0";
}
