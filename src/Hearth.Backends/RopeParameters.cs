namespace Hearth.Backends;

/// <summary>
/// Rotary embedding as Hugging Face computes it: angle = position · InverseFrequencies[i] (float32),
/// cos/sin scaled by AttentionScaling (1 except for YaRN), applied NeoX style (rotate_half) to the
/// first RotaryDim dims of each head.
/// </summary>
public sealed class RopeParameters
{
    public RopeParameters(Tensor inverseFrequencies, float attentionScaling)
    {
        if (inverseFrequencies.Shape.Rank != 1) throw new ArgumentException("inverse frequencies must be rank 1");
        InverseFrequencies = inverseFrequencies;
        AttentionScaling = attentionScaling;
    }

    /// <summary>[rotaryDim / 2] F32 in backend memory.</summary>
    public Tensor InverseFrequencies { get; }

    public float AttentionScaling { get; }

    public int RotaryDim => InverseFrequencies.Shape[0] * 2;
}
