namespace Hearth.Backends.Gguf;

/// <summary>
/// Q6_K: 256 values in 16 sub-blocks of 16, x = d·scale_s·(q − 32) with int8 scale_s and 6-bit q. Layout:
/// [0,128) low nibbles, [128,192) high bit pairs, [192,208) int8 scales, [208,210) f16 d. In each 128-value
/// half h, for l in 0..31: ql[64h + l] holds values 128h + l (low) and 128h + 64 + l (high), ql[64h + 32 + l]
/// holds 128h + 32 + l and 128h + 96 + l, and qh[32h + l] holds the high pairs of those four at bits 0, 2, 4, 6.
/// Value e uses scale e / 16.
/// </summary>
internal static class Q6KCodec
{
    private const int N = GgufBlockLayout.SuperBlockElements;

    /// <summary>For value e within a 128-value half: its ql byte index, nibble shift, and qh bit shift.</summary>
    public static (int Ql, int NibbleShift, int PairShift) Position(int e)
    {
        int group = e / 32, l = e % 32;
        return ((group & 1) * 32 + l, (group >> 1) * 4, group * 2);
    }

    public static void Dequantize(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = GgufBlockCodec.Half(block[208..]);
        for (int i = 0; i < N; i++)
        {
            int h = i / 128;
            var (ql, nibble, pair) = Position(i % 128);
            int q = ((block[64 * h + ql] >> nibble) & 0xF) | (((block[128 + 32 * h + i % 32] >> pair) & 3) << 4);
            y[i] = d * (sbyte)block[192 + i / 16] * (q - 32);
        }
    }

    public static void Quantize(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<float> scales = stackalloc float[16];
        float extremeScale = 0;
        for (int s = 0; s < 16; s++)
        {
            // The value of largest magnitude maps to −32, using the full −32..31 range on its side.
            float extreme = 0;
            for (int l = 0; l < 16; l++)
                if (MathF.Abs(x[s * 16 + l]) > MathF.Abs(extreme)) extreme = x[s * 16 + l];
            scales[s] = extreme / -32f;
            if (MathF.Abs(scales[s]) > MathF.Abs(extremeScale)) extremeScale = scales[s];
        }
        float d = GgufBlockCodec.WriteHalf(block[208..], extremeScale / -128f);
        block[..208].Clear();
        for (int s = 0; s < 16; s++)
        {
            int level = d != 0 ? GgufBlockCodec.RoundClamp(scales[s] / d, -128, 127) : 0;
            block[192 + s] = (byte)(sbyte)level;
            float scale = d * level;
            float inverse = scale != 0 ? 1f / scale : 0;
            for (int l = 0; l < 16; l++)
            {
                int i = s * 16 + l;
                int q = GgufBlockCodec.RoundClamp(x[i] * inverse, -32, 31) + 32;
                int h = i / 128;
                var (ql, nibble, pair) = Position(i % 128);
                block[64 * h + ql] |= (byte)((q & 0xF) << nibble);
                block[128 + 32 * h + i % 32] |= (byte)((q >> 4) << pair);
            }
        }
    }
}
