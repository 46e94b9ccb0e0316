namespace Hearth.Models.Quantization;

/// <summary>The checkpoint quantization schemes Hearth reads from config.json's quantization_config.</summary>
public enum QuantizationMethod
{
    /// <summary>AutoAWQ GEMM: qweight/qzeros [in, out/8] packed in AWQ's interleaved order, fp16 scales.</summary>
    Awq,

    /// <summary>GPTQ: qweight [in/8, out], qzeros [groups, out/8], fp16 scales, g_idx for act-order.</summary>
    Gptq,

    /// <summary>Fine-grained FP8: float8_e4m3fn weights with weight_scale_inv per block.</summary>
    Fp8,
}
