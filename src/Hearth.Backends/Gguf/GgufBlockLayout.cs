using Hearth.Core;

namespace Hearth.Backends.Gguf;

/// <summary>Block geometry of the GGUF tensor types Hearth runs: how many elements a block holds and its size.</summary>
public static class GgufBlockLayout
{
    /// <summary>Elements per super-block of the K-quants.</summary>
    public const int SuperBlockElements = 256;

    /// <summary>Elements per block of Q8_0 and Q4_0, and per sub-block of Q4_K/Q5_K.</summary>
    public const int SmallBlockElements = 32;

    /// <summary>Whether Hearth can read and multiply tensors of this type.</summary>
    public static bool IsSupported(GgufTensorType type) => type is GgufTensorType.F32 or GgufTensorType.F16
        or GgufTensorType.BF16 or GgufTensorType.Q8_0 or GgufTensorType.Q4_0 or GgufTensorType.Q4_K
        or GgufTensorType.Q5_K or GgufTensorType.Q6_K;

    /// <summary>Whether the type is block-quantized (not a plain float type).</summary>
    public static bool IsQuantized(GgufTensorType type) => type is not (GgufTensorType.F32 or GgufTensorType.F16 or GgufTensorType.BF16);

    public static int BlockElements(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 or GgufTensorType.F16 or GgufTensorType.BF16 => 1,
        GgufTensorType.Q8_0 or GgufTensorType.Q4_0 => SmallBlockElements,
        GgufTensorType.Q4_K or GgufTensorType.Q5_K or GgufTensorType.Q6_K => SuperBlockElements,
        _ => throw Unsupported(type),
    };

    public static int BlockSizeBytes(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 4,
        GgufTensorType.F16 or GgufTensorType.BF16 => 2,
        GgufTensorType.Q8_0 => 34,   // f16 scale, 32 × int8
        GgufTensorType.Q4_0 => 18,   // f16 scale, 16 bytes of nibbles
        GgufTensorType.Q4_K => 144,  // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        GgufTensorType.Q5_K => 176,  // as Q4_K plus 32 bytes of fifth bits
        GgufTensorType.Q6_K => 210,  // 128 bytes low nibbles, 64 bytes high pairs, 16 int8 scales, f16 d
        _ => throw Unsupported(type),
    };

    /// <summary>Bytes of one row of <paramref name="numElements"/> elements, which must be whole blocks.</summary>
    public static long RowSizeBytes(GgufTensorType type, long numElements)
    {
        int block = BlockElements(type);
        if (numElements % block != 0)
            throw new HearthException($"a {type} row of {numElements} elements is not a whole number of {block}-element blocks");
        return numElements / block * BlockSizeBytes(type);
    }

    /// <summary>The dtype of a plain float type; quantized types have none.</summary>
    public static DType? PlainDType(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => DType.F32,
        GgufTensorType.F16 => DType.F16,
        GgufTensorType.BF16 => DType.BF16,
        _ => null,
    };

    public static HearthException Unsupported(GgufTensorType type) => new(
        $"GGUF tensor type {(Enum.IsDefined(type) ? type.ToString() : "#" + (uint)type)} is not supported; Hearth runs F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K");
}
