namespace Hearth.Core.Config;

/// <summary>
/// Rotary position embedding settings, normalized from either transformers 4.x (<c>rope_theta</c> +
/// <c>rope_scaling</c>) or 5.x (<c>rope_parameters</c>). Defaults that transformers fills in during its own
/// standardization (original context length, YaRN factor) are already resolved here.
/// </summary>
public sealed record RopeConfig
{
    public double Theta { get; init; } = 10000.0;

    /// <summary>"default", "linear", "dynamic", "yarn" or "llama3" (others parse but cannot be computed yet).</summary>
    public string Type { get; init; } = "default";

    public double? Factor { get; init; }

    public int? OriginalMaxPositionEmbeddings { get; init; }

    public double? BetaFast { get; init; }

    public double? BetaSlow { get; init; }

    /// <summary>YaRN's cos/sin scale when the config fixes it; otherwise derived from Factor and Mscale.</summary>
    public double? AttentionFactor { get; init; }

    public double? Mscale { get; init; }

    public double? MscaleAllDim { get; init; }

    /// <summary>YaRN: floor/ceil the correction range (transformers' default is true).</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>llama3 only.</summary>
    public double? LowFreqFactor { get; init; }

    /// <summary>llama3 only.</summary>
    public double? HighFreqFactor { get; init; }

    /// <summary>Fraction of each head that is rotated; 1 for Qwen.</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;
}
