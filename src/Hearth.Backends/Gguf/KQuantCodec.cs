namespace Hearth.Backends.Gguf;

/// <summary>
/// Q4_K and Q5_K: 256 values in 8 sub-blocks of 32, each x = d·scale_s·q − dmin·min_s with 6-bit scale_s and
/// min_s packed into 12 bytes. Layout: [0,2) f16 d, [2,4) f16 dmin, [4,16) scales, then Q5_K's [16,48) fifth
/// bits, then 128 bytes of nibbles. In each 64-value chunk c, nibble byte 32c + l holds value 64c + l (low)
/// and 64c + 32 + l (high); Q5_K's fifth bit of those is bit 2c (resp. 2c + 1) of qh[l].
/// </summary>
internal static class KQuantCodec
{
    private const int N = GgufBlockLayout.SuperBlockElements;
    private const int Sub = GgufBlockLayout.SmallBlockElements;
    private const int ScalesOffset = 4;

    public static void DequantizeQ4K(ReadOnlySpan<byte> block, Span<float> y) => Dequantize(block, y, hasFifthBit: false);

    public static void DequantizeQ5K(ReadOnlySpan<byte> block, Span<float> y) => Dequantize(block, y, hasFifthBit: true);

    public static void QuantizeQ4K(ReadOnlySpan<float> x, Span<byte> block) => Quantize(x, block, hasFifthBit: false);

    public static void QuantizeQ5K(ReadOnlySpan<float> x, Span<byte> block) => Quantize(x, block, hasFifthBit: true);

    /// <summary>Sub-block s's 6-bit scale and min from the 12 packed bytes.</summary>
    public static (int Scale, int Min) ScaleMin(ReadOnlySpan<byte> packed, int s)
    {
        if (s < 4) return (packed[s] & 63, packed[s + 4] & 63);
        return ((packed[s + 4] & 0xF) | ((packed[s - 4] >> 6) << 4), (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4));
    }

    private static void Dequantize(ReadOnlySpan<byte> block, Span<float> y, bool hasFifthBit)
    {
        float d = GgufBlockCodec.Half(block);
        float dmin = GgufBlockCodec.Half(block[2..]);
        var packed = block.Slice(ScalesOffset, 12);
        var qh = hasFifthBit ? block.Slice(16, 32) : default;
        var qs = block.Slice(hasFifthBit ? 48 : 16, 128);
        for (int s = 0; s < 8; s++)
        {
            var (scale, min) = ScaleMin(packed, s);
            float ds = d * scale, ms = dmin * min;
            int chunk = s / 2, shift = (s & 1) * 4;
            for (int l = 0; l < Sub; l++)
            {
                int q = (qs[32 * chunk + l] >> shift) & 0xF;
                if (hasFifthBit) q |= ((qh[l] >> s) & 1) << 4;
                y[s * Sub + l] = ds * q - ms;
            }
        }
    }

    private static void Quantize(ReadOnlySpan<float> x, Span<byte> block, bool hasFifthBit)
    {
        int maxLevel = hasFifthBit ? 31 : 15;
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int s = 0; s < 8; s++)
        {
            // The min is clamped at zero, as the format subtracts a non-negative min.
            float lo = 0, hi = float.NegativeInfinity;
            for (int l = 0; l < Sub; l++)
            {
                lo = MathF.Min(lo, x[s * Sub + l]);
                hi = MathF.Max(hi, x[s * Sub + l]);
            }
            scales[s] = MathF.Max(0, hi - lo) / maxLevel;
            mins[s] = -lo;
            maxScale = MathF.Max(maxScale, scales[s]);
            maxMin = MathF.Max(maxMin, mins[s]);
        }
        float d = GgufBlockCodec.WriteHalf(block, maxScale / 63f);
        float dmin = GgufBlockCodec.WriteHalf(block[2..], maxMin / 63f);
        Span<byte> levels = stackalloc byte[8], minLevels = stackalloc byte[8];
        for (int s = 0; s < 8; s++)
        {
            levels[s] = (byte)(d > 0 ? GgufBlockCodec.RoundClamp(scales[s] / d, 0, 63) : 0);
            minLevels[s] = (byte)(dmin > 0 ? GgufBlockCodec.RoundClamp(mins[s] / dmin, 0, 63) : 0);
        }
        var packed = block.Slice(ScalesOffset, 12);
        for (int s = 0; s < 4; s++)
        {
            packed[s] = (byte)((levels[s] & 63) | ((levels[s + 4] >> 4) << 6));
            packed[s + 4] = (byte)((minLevels[s] & 63) | ((minLevels[s + 4] >> 4) << 6));
            packed[s + 8] = (byte)((levels[s + 4] & 0xF) | ((minLevels[s + 4] & 0xF) << 4));
        }
        var qh = hasFifthBit ? block.Slice(16, 32) : default;
        var qs = block.Slice(hasFifthBit ? 48 : 16, 128);
        qs.Clear();
        qh.Clear();
        for (int s = 0; s < 8; s++)
        {
            float scale = d * levels[s], min = dmin * minLevels[s];
            float inverse = scale > 0 ? 1f / scale : 0;
            int chunk = s / 2, shift = (s & 1) * 4;
            for (int l = 0; l < Sub; l++)
            {
                int q = GgufBlockCodec.RoundClamp((x[s * Sub + l] + min) * inverse, 0, maxLevel);
                qs[32 * chunk + l] |= (byte)((q & 0xF) << shift);
                if (hasFifthBit) qh[l] |= (byte)((q >> 4) << s);
            }
        }
    }
}
