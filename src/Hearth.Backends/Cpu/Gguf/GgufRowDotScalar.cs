using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>The portable fallback: decode one block at a time into a stack buffer, then a plain dot product.</summary>
internal static unsafe class GgufRowDotScalar
{
    public static float Dot(GgufTensorType type, byte* row, float* x, int n)
    {
        int elements = GgufBlockLayout.BlockElements(type), bytes = GgufBlockLayout.BlockSizeBytes(type);
        Span<float> decoded = stackalloc float[GgufBlockLayout.SuperBlockElements];
        var block = decoded[..elements];
        float sum = 0;
        for (int b = 0; b < n / elements; b++)
        {
            GgufBlockCodec.Dequantize(type, new ReadOnlySpan<byte>(row + (nint)b * bytes, bytes), block);
            float* xb = x + (nint)b * elements;
            for (int i = 0; i < elements; i++) sum += block[i] * xb[i];
        }
        return sum;
    }
}
