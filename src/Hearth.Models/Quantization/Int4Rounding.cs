using System.Runtime.Intrinsics;

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
        var (min, max) = MinMax(weights);
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
        Round(weights, q, scale, zero);
        return (scale, zero);
    }

    // The two loops below are vectorized with the scalar loop's exact arithmetic (IEEE min/max, a correctly
    // rounded division, round half to even), so the written checkpoint does not depend on the vector width;
    // they were most of `hearth quantize --to awq-int4`'s time.
    private static (float Min, float Max) MinMax(ReadOnlySpan<float> weights)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && weights.Length >= Vector256<float>.Count)
        {
            var vmin = Vector256.Create(float.PositiveInfinity);
            var vmax = Vector256.Create(float.NegativeInfinity);
            for (; i + Vector256<float>.Count <= weights.Length; i += Vector256<float>.Count)
            {
                var w = Vector256.Create(weights.Slice(i, Vector256<float>.Count));
                vmin = Vector256.Min(vmin, w);
                vmax = Vector256.Max(vmax, w);
            }
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                min = Math.Min(min, vmin.GetElement(lane));
                max = Math.Max(max, vmax.GetElement(lane));
            }
        }
        for (; i < weights.Length; i++)
        {
            min = Math.Min(min, weights[i]);
            max = Math.Max(max, weights[i]);
        }
        return (min, max);
    }

    private static void Round(ReadOnlySpan<float> weights, Span<byte> q, float scale, int zero)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            var z = Vector256.Create(zero);
            var top = Vector256.Create(15);
            for (; i + Vector256<float>.Count <= weights.Length; i += Vector256<float>.Count)
            {
                var steps = Vector256.Round(Vector256.Create(weights.Slice(i, Vector256<float>.Count)) / s);
                // Clamped in float first: the int conversion of a huge quotient would saturate differently.
                steps = Vector256.Min(Vector256.Max(steps, Vector256.Create(-64f)), Vector256.Create(64f));
                var levels = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(steps) + z, Vector256<int>.Zero), top);
                for (int lane = 0; lane < Vector256<int>.Count; lane++) q[i + lane] = (byte)levels.GetElement(lane);
            }
        }
        for (; i < weights.Length; i++)
            q[i] = (byte)Math.Clamp((int)MathF.Round(weights[i] / scale, MidpointRounding.ToEven) + zero, 0, 15);
    }

    private static float ToF16(float value)
    {
        float rounded = (float)(Half)value;
        // A scale that underflows f16 would divide by zero; the smallest normal half is still a valid step.
        return rounded == 0 ? (float)BitConverter.UInt16BitsToHalf(0x0400) : rounded;
    }
}
