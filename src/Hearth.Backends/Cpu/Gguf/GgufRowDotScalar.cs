using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// The portable fallback: decode one weight block at a time into a stack buffer and take its dot product with
/// the same int8-quantized input the SIMD path uses, so every path computes the same sum.
/// </summary>
internal static unsafe class GgufRowDotScalar
{
    public static float Dot(GgufTensorType type, byte* row, byte* prepared, int n)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        int elements = GgufBlockLayout.BlockElements(type), bytes = GgufBlockLayout.BlockSizeBytes(type);
        Span<float> decoded = stackalloc float[GgufBlockLayout.SuperBlockElements];
        var block = decoded[..elements];
        float sum = 0;
        for (int b = 0; b < n / elements; b++)
        {
            GgufBlockCodec.Dequantize(type, new ReadOnlySpan<byte>(row + (nint)b * bytes, bytes), block);
            int first = b * elements;
            for (int i = 0; i < elements; i++) sum += block[i] * (xq[first + i] * xd[(first + i) / Q8Activations.Block]);
        }
        return sum;
    }
}
