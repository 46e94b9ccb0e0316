namespace Hearth.Backends;

/// <summary>
/// float8_e4m3fn (1 sign, 4 exponent bits with bias 7, 3 mantissa bits; no infinities; S.1111.111 is NaN;
/// largest finite value 448), the element type of FP8 checkpoints.
/// </summary>
public static class Float8E4M3
{
    public const float MaxValue = 448f;

    public static float ToSingle(byte bits)
    {
        int magnitude = bits & 0x7F;
        if (magnitude == 0x7F) return float.NaN;
        int exponent = magnitude >> 3, mantissa = magnitude & 7;
        float value = exponent == 0 ? mantissa * (1f / 512f) : (8 + mantissa) * MathF.Pow(2, exponent - 10);
        return (bits & 0x80) != 0 ? -value : value;
    }

    /// <summary>Round to nearest, ties to even; values beyond ±448 saturate to ±448 (as FP8 quantizers clamp).</summary>
    public static byte FromSingle(float value)
    {
        if (float.IsNaN(value)) return 0x7F;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        byte sign = (byte)((bits >> 24) & 0x80);
        uint magnitude = bits & 0x7FFF_FFFF;
        float a = BitConverter.UInt32BitsToSingle(magnitude);
        if (a >= MaxValue) return (byte)(sign | 0x7E);
        if (a < 1f / 64)
        {
            // Subnormals step by 2^-9; rounding up to 8 lands exactly on the smallest normal, 0x08.
            return (byte)(sign | (int)MathF.Round(a * 512, MidpointRounding.ToEven));
        }
        // Re-bias the f32 exponent (127) to e4m3's (7) and round the 23-bit mantissa to 3 bits, ties to even;
        // a mantissa carry moves into the exponent, which is the correctly rounded result.
        uint rebiased = magnitude - ((127u - 7) << 23);
        uint rounded = (rebiased + 0x7_FFFF + ((rebiased >> 20) & 1)) >> 20;
        return (byte)(sign | Math.Min(rounded, 0x7Eu));
    }
}
