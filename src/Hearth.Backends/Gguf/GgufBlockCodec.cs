using Hearth.Core;

namespace Hearth.Backends.Gguf;

/// <summary>
/// Scalar reference conversion between f32 values and GGUF blocks, written from the block layouts. Quantizing is
/// round-to-nearest with per-(sub-)block scales (no search for better scales), the minimum the formats allow.
/// The CPU kernels do not use these; tests check the kernels against them.
/// </summary>
public static class GgufBlockCodec
{
    /// <summary>Decodes whole blocks. blocks holds output.Length / blockElements blocks of <paramref name="type"/>.</summary>
    public static void Dequantize(GgufTensorType type, ReadOnlySpan<byte> blocks, Span<float> output)
    {
        int numBlocks = CheckSizes(type, output.Length, blocks.Length);
        int elements = GgufBlockLayout.BlockElements(type), bytes = GgufBlockLayout.BlockSizeBytes(type);
        for (int b = 0; b < numBlocks; b++)
        {
            var block = blocks.Slice(b * bytes, bytes);
            var y = output.Slice(b * elements, elements);
            switch (type)
            {
                case GgufTensorType.F32: y[0] = BitConverter.ToSingle(block); break;
                case GgufTensorType.F16: y[0] = (float)BitConverter.ToHalf(block); break;
                case GgufTensorType.BF16: y[0] = BFloat16Bits.ToSingle(BitConverter.ToUInt16(block)); break;
                case GgufTensorType.Q8_0: SmallBlockCodec.DequantizeQ8_0(block, y); break;
                case GgufTensorType.Q4_0: SmallBlockCodec.DequantizeQ4_0(block, y); break;
                case GgufTensorType.Q4_K: KQuantCodec.DequantizeQ4K(block, y); break;
                case GgufTensorType.Q5_K: KQuantCodec.DequantizeQ5K(block, y); break;
                case GgufTensorType.Q6_K: Q6KCodec.Dequantize(block, y); break;
                default: throw GgufBlockLayout.Unsupported(type);
            }
        }
    }

    /// <summary>Encodes input (a whole number of blocks) into blocks of <paramref name="type"/>.</summary>
    public static void Quantize(GgufTensorType type, ReadOnlySpan<float> input, Span<byte> blocks)
    {
        int numBlocks = CheckSizes(type, input.Length, blocks.Length);
        int elements = GgufBlockLayout.BlockElements(type), bytes = GgufBlockLayout.BlockSizeBytes(type);
        for (int b = 0; b < numBlocks; b++)
        {
            var x = input.Slice(b * elements, elements);
            var block = blocks.Slice(b * bytes, bytes);
            switch (type)
            {
                case GgufTensorType.F32: BitConverter.TryWriteBytes(block, x[0]); break;
                case GgufTensorType.F16: BitConverter.TryWriteBytes(block, (Half)x[0]); break;
                case GgufTensorType.BF16: BitConverter.TryWriteBytes(block, BFloat16Bits.FromSingle(x[0])); break;
                case GgufTensorType.Q8_0: SmallBlockCodec.QuantizeQ8_0(x, block); break;
                case GgufTensorType.Q4_0: SmallBlockCodec.QuantizeQ4_0(x, block); break;
                case GgufTensorType.Q4_K: KQuantCodec.QuantizeQ4K(x, block); break;
                case GgufTensorType.Q5_K: KQuantCodec.QuantizeQ5K(x, block); break;
                case GgufTensorType.Q6_K: Q6KCodec.Quantize(x, block); break;
                default: throw GgufBlockLayout.Unsupported(type);
            }
        }
    }

    private static int CheckSizes(GgufTensorType type, int numElements, int numBytes)
    {
        int elements = GgufBlockLayout.BlockElements(type);
        if (numElements % elements != 0)
            throw new ArgumentException($"{numElements} values are not whole {type} blocks of {elements}");
        int numBlocks = numElements / elements;
        if ((long)numBlocks * GgufBlockLayout.BlockSizeBytes(type) != numBytes)
            throw new ArgumentException($"{numBytes} bytes do not hold exactly {numBlocks} {type} blocks");
        return numBlocks;
    }

    internal static float Half(ReadOnlySpan<byte> bytes) => (float)BitConverter.ToHalf(bytes);

    /// <summary>Rounds to f16 and writes it; returns the value as stored so callers quantize against it.</summary>
    internal static float WriteHalf(Span<byte> destination, float value)
    {
        var h = (Half)value;
        BitConverter.TryWriteBytes(destination, h);
        return (float)h;
    }

    internal static int RoundClamp(float value, int min, int max) =>
        Math.Clamp((int)MathF.Round(value, MidpointRounding.AwayFromZero), min, max);
}
