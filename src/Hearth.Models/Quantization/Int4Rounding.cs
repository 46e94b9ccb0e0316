namespace Hearth.Models.Quantization;

/// <summary>
/// Round-to-nearest 4-bit quantization of one group of weights, the way the AWQ and GPTQ exporters pick
/// their grid (no calibration: no activation-aware scaling, no Hessian updates). Scales are rounded to f16
/// first, since that is what the checkpoint stores and the reader multiplies by.
/// </summary>
public static class Int4Rounding
{
    /// <summary>Which grid to fit.</summary>
    public enum Grid
    {
        /// <summary>AWQ: [min, max] of the group onto 0..15 with a zero point in 0..15.</summary>
        AwqAsymmetric,

        /// <summary>GPTQ sym: ±max|w| onto 0..15 around the fixed zero point 8.</summary>
        GptqSymmetric,

        /// <summary>GPTQ asym: [min(w, 0), max(w, 0)] onto 0..15; the zero point is kept ≥ 1 so "zero − 1" never wraps.</summary>
        GptqAsymmetric,
    }

    /// <summary>Fits one group; returns (scale, zero) and writes the 4-bit values.</summary>
    public static (float Scale, int Zero) Quantize(ReadOnlySpan<float> weights, Span<byte> q, Grid grid)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float w in weights)
        {
            min = Math.Min(min, w);
            max = Math.Max(max, w);
        }
        float scale;
        int zero;
        switch (grid)
        {
            case Grid.GptqSymmetric:
            {
                float absMax = Math.Max(Math.Abs(min), Math.Abs(max));
                scale = ToF16(absMax == 0 ? 1f : 2 * absMax / 15);
                zero = 8;
                break;
            }
            case Grid.GptqAsymmetric:
            {
                min = Math.Min(min, 0);
                max = Math.Max(max, 0);
                scale = ToF16(max == min ? 1f : (max - min) / 15);
                zero = Math.Clamp((int)MathF.Round(-min / scale, MidpointRounding.ToEven), 1, 15);
                break;
            }
            default:
            {
                scale = ToF16(Math.Max(max - min, 1e-5f) / 15);
                zero = Math.Clamp((int)-MathF.Round(min / scale, MidpointRounding.ToEven), 0, 15);
                break;
            }
        }
        for (int i = 0; i < weights.Length; i++)
            q[i] = (byte)Math.Clamp((int)MathF.Round(weights[i] / scale, MidpointRounding.ToEven) + zero, 0, 15);
        return (scale, zero);
    }

    private static float ToF16(float value)
    {
        float rounded = (float)(Half)value;
        // A scale that underflows f16 would divide by zero; the smallest normal half is still a valid step.
        return rounded == 0 ? (float)BitConverter.UInt16BitsToHalf(0x0400) : rounded;
    }
}
