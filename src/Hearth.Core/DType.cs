namespace Hearth.Core;

/// <summary>Element types of tensors as stored in checkpoints and device buffers.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
    F8E4M3,
    I8,
    U8,
    I32,
    I64,
    /// <summary>Packed 4-bit values stored in int32 words (AWQ/GPTQ qweight/qzeros).</summary>
    I32Packed4,
    /// <summary>A GGUF block-quantized type; the exact layout lives beside the tensor.</summary>
    GgufBlock,
}
