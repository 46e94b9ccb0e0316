using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda;

/// <summary>
/// One row's sampling parameters as <c>sample_rows_f32</c> reads them (eight 32-bit words, in this order), with
/// vLLM's meanings: temperature below 1e-5 is greedy, TopK ≤ 0 and TopP 1 are off, MinP 0 is off, penalties of 1
/// (repetition) and 0 (presence, frequency) are off. Uniform is the row's random number in [0, 1).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SamplingRowParams
{
    public float Temperature;
    public int TopK;
    public float TopP;
    public float MinP;
    public float RepetitionPenalty;
    public float PresencePenalty;
    public float FrequencyPenalty;
    public float Uniform;

    public const float GreedyBelow = 1e-5f;

    public readonly bool IsGreedy => Temperature < GreedyBelow;

    /// <summary>The largest float below 1: a uniform double that rounds up to 1 in float is clamped to it.</summary>
    public static float ToUniform(double u) => Math.Min((float)u, 0.99999994f);
}
