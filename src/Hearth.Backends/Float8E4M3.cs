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
        byte sign = value < 0 || (value == 0 && float.IsNegative(value)) ? (byte)0x80 : (byte)0;
        double a = Math.Abs((double)value);
        if (a >= MaxValue) return (byte)(sign | 0x7E);
        if (a < 1.0 / 64)
        {
            // Subnormals step by 2^-9; rounding up to 8 lands exactly on the smallest normal, 0x08.
            int q = (int)Math.Round(a * 512, MidpointRounding.ToEven);
            return (byte)(sign | q);
        }
        int e = (int)Math.Floor(Math.Log2(a));
        if (Math.Pow(2, e) > a) e--;
        else if (Math.Pow(2, e + 1) <= a) e++;
        int m = (int)Math.Round((a / Math.Pow(2, e) - 1) * 8, MidpointRounding.ToEven);
        if (m == 8)
        {
            e++;
            m = 0;
        }
        if (e > 8 || (e == 8 && m == 7)) return (byte)(sign | 0x7E);
        return (byte)(sign | ((e + 7) << 3) | m);
    }
}
