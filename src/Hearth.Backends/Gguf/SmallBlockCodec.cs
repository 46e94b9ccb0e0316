namespace Hearth.Backends.Gguf;

/// <summary>Q8_0 and Q4_0: one f16 scale per 32 values.</summary>
internal static class SmallBlockCodec
{
    private const int N = GgufBlockLayout.SmallBlockElements;

    // Q8_0: [0,2) f16 d, [2,34) int8 q; x = d·q.
    public static void DequantizeQ8_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = GgufBlockCodec.Half(block);
        for (int i = 0; i < N; i++) y[i] = d * (sbyte)block[2 + i];
    }

    public static void QuantizeQ8_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = GgufBlockCodec.WriteHalf(block, amax / 127f);
        float inverse = d == 0 ? 0 : 1f / d;
        for (int i = 0; i < N; i++) block[2 + i] = (byte)(sbyte)GgufBlockCodec.RoundClamp(x[i] * inverse, -127, 127);
    }

    // Q4_0: [0,2) f16 d, [2,18) nibbles; byte j holds value j (low) and value j + 16 (high); x = d·(q − 8).
    public static void DequantizeQ4_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = GgufBlockCodec.Half(block);
        for (int j = 0; j < N / 2; j++)
        {
            byte q = block[2 + j];
            y[j] = d * ((q & 0xF) - 8);
            y[j + N / 2] = d * ((q >> 4) - 8);
        }
    }

    public static void QuantizeQ4_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        // The value of largest magnitude maps to −8 exactly, so the full range −8..7 is used on its side.
        float extreme = 0;
        foreach (float v in x) if (MathF.Abs(v) > MathF.Abs(extreme)) extreme = v;
        float d = GgufBlockCodec.WriteHalf(block, extreme / -8f);
        float inverse = d == 0 ? 0 : 1f / d;
        for (int j = 0; j < N / 2; j++)
        {
            int lo = GgufBlockCodec.RoundClamp(x[j] * inverse + 8, 0, 15);
            int hi = GgufBlockCodec.RoundClamp(x[j + N / 2] * inverse + 8, 0, 15);
            block[2 + j] = (byte)(lo | (hi << 4));
        }
    }
}
