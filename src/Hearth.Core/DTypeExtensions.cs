namespace Hearth.Core;

public static class DTypeExtensions
{
    /// <summary>Bytes per element; block-quantized types have no fixed element size and throw.</summary>
    public static int ElementSizeBytes(this DType dtype) => dtype switch
    {
        DType.F32 or DType.I32 or DType.I32Packed4 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.F8E4M3 or DType.I8 or DType.U8 => 1,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no fixed element size"),
    };

    /// <summary>The safetensors header name of a dtype ("BF16", "F32", ...).</summary>
    public static string SafetensorsName(this DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        DType.F8E4M3 => "F8_E4M3",
        DType.I8 => "I8",
        DType.U8 => "U8",
        DType.I32 or DType.I32Packed4 => "I32",
        DType.I64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };
}
