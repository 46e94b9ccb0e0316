using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Models.Config;

/// <summary>
/// RoPE inverse frequencies as transformers' modeling_rope_utils computes them at model init. torch does the
/// per-element work in float32 with Python scalars rounded to float32, and the scalar bookkeeping (YaRN's
/// correction range, attention factor) in Python float64; each step below is rounded the same way so results
/// agree to the last bit wherever torch's float32 pow is correctly rounded.
/// </summary>
public static class RopeFrequencies
{
    /// <returns>inverseFrequencies [rotaryDim / 2] and the factor cos/sin are multiplied by.</returns>
    public static (float[] InverseFrequencies, float AttentionScaling) Compute(RopeConfig rope, int headDim)
    {
        ArgumentNullException.ThrowIfNull(rope);
        if (headDim <= 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "head_dim must be positive");
        int dim = (int)(headDim * rope.PartialRotaryFactor);
        if (dim < 2 || dim % 2 != 0)
            throw new HearthException($"rotary dimension {dim} (head_dim {headDim} × partial_rotary_factor {rope.PartialRotaryFactor}) must be even and at least 2");
        return rope.Type switch
        {
            // Dynamic NTK only departs from the default beyond max_position_embeddings, which the engine caps.
            "default" or "dynamic" => (PowerFrequencies(rope.Theta, dim, 1.0), 1.0f),
            "linear" => (PowerFrequencies(rope.Theta, dim, Require(rope.Factor, "factor", rope.Type)), 1.0f),
            "yarn" => Yarn(rope, dim),
            "llama3" => (Llama3(rope, dim), 1.0f),
            _ => throw new HearthException(
                $"RoPE type '{rope.Type}' is not supported (supported: default, linear, dynamic, yarn, llama3)"),
        };
    }

    /// <summary>1 / base^(2i/dim) in float32, then divided by <paramref name="divisor"/> (linear scaling) when not 1.</summary>
    private static float[] PowerFrequencies(double theta, int dim, double divisor)
    {
        var result = new float[dim / 2];
        float divisorF = (float)divisor;
        for (int i = 0; i < result.Length; i++)
        {
            float inv = 1.0f / PosFrequency(theta, i, dim);
            result[i] = divisor == 1.0 ? inv : inv / divisorF;
        }
        return result;
    }

    /// <summary>base ** (arange(0, dim, 2).float() / dim): the exponent is a float32 division, the power is rounded once.</summary>
    private static float PosFrequency(double theta, int i, int dim)
    {
        float exponent = (float)(2 * i) / dim;
        return (float)Math.Pow((float)theta, exponent);
    }

    private static (float[], float) Yarn(RopeConfig rope, int dim)
    {
        double factor = Require(rope.Factor, "factor", rope.Type);
        double originalMax = Require(rope.OriginalMaxPositionEmbeddings, "original_max_position_embeddings", rope.Type);
        double attentionFactor = rope.AttentionFactor ?? (rope.Mscale is { } m && m != 0 && rope.MscaleAllDim is { } mAll && mAll != 0
            ? YarnMscale(factor, m) / YarnMscale(factor, mAll)
            : YarnMscale(factor, 1.0));
        // Python's `x or default`: zero counts as unset.
        double betaFast = rope.BetaFast is { } bf && bf != 0 ? bf : 32.0;
        double betaSlow = rope.BetaSlow is { } bs && bs != 0 ? bs : 1.0;

        double low = CorrectionDim(betaFast, dim, rope.Theta, originalMax);
        double high = CorrectionDim(betaSlow, dim, rope.Theta, originalMax);
        if (rope.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001;
        float lowF = (float)low;
        float rangeF = (float)(high - low);
        float factorF = (float)factor;

        var result = new float[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            float pos = PosFrequency(rope.Theta, i, dim);
            float extrapolation = 1.0f / pos;
            float interpolation = 1.0f / (factorF * pos);
            float ramp = Math.Clamp(((float)i - lowF) / rangeF, 0.0f, 1.0f);
            float extrapolationFactor = 1.0f - ramp;
            result[i] = interpolation * (1.0f - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return (result, (float)attentionFactor);
    }

    private static double YarnMscale(double scale, double mscale) =>
        scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    /// <summary>The (fractional) dimension whose wavelength fits numRotations times into the original context.</summary>
    private static double CorrectionDim(double numRotations, int dim, double theta, double maxPositions) =>
        dim * Math.Log(maxPositions / (numRotations * 2 * Math.PI)) / (2 * Math.Log(theta));

    private static float[] Llama3(RopeConfig rope, int dim)
    {
        double factor = Require(rope.Factor, "factor", rope.Type);
        double lowFreqFactor = Require(rope.LowFreqFactor, "low_freq_factor", rope.Type);
        double highFreqFactor = Require(rope.HighFreqFactor, "high_freq_factor", rope.Type);
        double oldContext = Require(rope.OriginalMaxPositionEmbeddings, "original_max_position_embeddings", rope.Type);
        float lowFreqWavelen = (float)(oldContext / lowFreqFactor);
        float highFreqWavelen = (float)(oldContext / highFreqFactor);
        float factorF = (float)factor;
        float twoPi = (float)(2 * Math.PI);

        var result = PowerFrequencies(rope.Theta, dim, 1.0);
        for (int i = 0; i < result.Length; i++)
        {
            float inv = result[i];
            float wavelen = twoPi / inv;
            float scaled = wavelen > lowFreqWavelen ? inv / factorF : inv;
            bool isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (isMedium)
            {
                float smooth = ((float)oldContext / wavelen - (float)lowFreqFactor) / (float)(highFreqFactor - lowFreqFactor);
                scaled = (1.0f - smooth) * scaled / factorF + smooth * scaled;
            }
            result[i] = scaled;
        }
        return result;
    }

    private static double Require(double? value, string key, string type) =>
        value ?? throw new HearthException($"RoPE type '{type}' needs '{key}' in rope_scaling / rope_parameters");
}
