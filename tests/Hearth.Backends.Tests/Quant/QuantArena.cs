using Hearth.Backends.Tests.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Quant;

/// <summary>
/// Random quantized matrices in backend memory, each with its weights dequantized straight from the layout
/// documented on <see cref="QuantizedMatrix"/>, for the reference product.
/// </summary>
internal static unsafe class QuantArena
{
    /// <summary>An Int4Group matrix and its dequantized weights [out, in] in input order (permutation undone).</summary>
    public static QuantizedMatrix Int4(TestArena arena, Random random, int outFeatures, int inFeatures, int groupSize,
        bool withZeros, bool permuted, out float[] dense)
    {
        int groups = inFeatures / groupSize;
        var q = new byte[outFeatures * inFeatures];
        for (int i = 0; i < q.Length; i++) q[i] = (byte)random.Next(16);
        var packed = new byte[outFeatures * inFeatures / 2];
        for (int j = 0; j < outFeatures; j++)
            for (int i = 0; i < inFeatures; i++)
            {
                int chunk = i / 32, k = i % 32;
                int index = j * inFeatures / 2 + chunk * 16 + k % 16;
                packed[index] |= (byte)(k < 16 ? q[j * inFeatures + i] : q[j * inFeatures + i] << 4);
            }
        var scales = new float[outFeatures * groups];
        for (int i = 0; i < scales.Length; i++) scales[i] = (float)(0.01 + random.NextDouble() * 0.05);
        var zeros = new float[outFeatures * groups];
        for (int i = 0; i < zeros.Length; i++) zeros[i] = withZeros ? random.Next(16) : 8;
        int[] perm = Enumerable.Range(0, inFeatures).OrderBy(_ => random.Next()).ToArray();
        dense = new float[outFeatures * inFeatures];
        for (int j = 0; j < outFeatures; j++)
            for (int i = 0; i < inFeatures; i++)
            {
                int g = j * groups + i / groupSize;
                int column = permuted ? perm[i] : i;
                dense[j * inFeatures + column] = (q[j * inFeatures + i] - zeros[g]) * scales[g];
            }
        var data = Bytes(arena, packed, new Shape(outFeatures, inFeatures / 2));
        return QuantizedMatrix.Int4Group(outFeatures, inFeatures, groupSize, data,
            arena.F32(scales, new Shape(outFeatures, groups)),
            withZeros ? arena.F32(zeros, new Shape(outFeatures, groups)) : null,
            permuted ? arena.I32(perm, new Shape(inFeatures)) : null);
    }

    /// <summary>An Fp8Block matrix of random finite e4m3 bytes and its dequantized weights [out, in].</summary>
    public static QuantizedMatrix Fp8(TestArena arena, Random random, int outFeatures, int inFeatures, int blockRows, int blockColumns,
        out float[] dense)
    {
        var bytes = new byte[outFeatures * inFeatures];
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b;
            do b = (byte)random.Next(256); while ((b & 0x7F) == 0x7F);
            bytes[i] = b;
        }
        int scaleRows = (outFeatures + blockRows - 1) / blockRows, scaleColumns = (inFeatures + blockColumns - 1) / blockColumns;
        var scales = new float[scaleRows * scaleColumns];
        for (int i = 0; i < scales.Length; i++) scales[i] = (float)(0.001 + random.NextDouble() * 0.01);
        dense = new float[bytes.Length];
        for (int j = 0; j < outFeatures; j++)
            for (int i = 0; i < inFeatures; i++)
                dense[j * inFeatures + i] = E4M3(bytes[j * inFeatures + i]) * scales[j / blockRows * scaleColumns + i / blockColumns];
        var data = arena.Zeros(DType.F8E4M3, new Shape(outFeatures, inFeatures));
        bytes.CopyTo(new Span<byte>((void*)data.Data, bytes.Length));
        return QuantizedMatrix.Fp8Block(outFeatures, inFeatures, blockRows, blockColumns, data,
            arena.F32(scales, new Shape(scaleRows, scaleColumns)));
    }

    /// <summary>e4m3fn from its definition: (-1)^s · 2^(e-7) · (1 + m/8), or 2^-6 · m/8 when e = 0.</summary>
    public static float E4M3(byte b)
    {
        int e = (b >> 3) & 15, m = b & 7;
        double value = e == 0 ? Math.Pow(2, -6) * m / 8 : Math.Pow(2, e - 7) * (1 + m / 8.0);
        return (float)((b & 0x80) != 0 ? -value : value);
    }

    public static Tensor Bytes(TestArena arena, byte[] bytes, Shape shape)
    {
        var tensor = arena.Zeros(DType.U8, shape);
        bytes.CopyTo(new Span<byte>((void*)tensor.Data, bytes.Length));
        return tensor;
    }
}
