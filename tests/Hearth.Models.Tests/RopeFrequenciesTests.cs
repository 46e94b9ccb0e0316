using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Config;

namespace Hearth.Models.Tests;

/// <summary>Values derived by hand (exact powers, sqrt identities, the YaRN correction range worked out on paper).</summary>
public sealed class RopeFrequenciesTests
{
    private static float Ulp(float x) => MathF.BitIncrement(x) - x;

    [Fact]
    public void Default_frequencies_for_exact_powers()
    {
        var (inv, scaling) = RopeFrequencies.Compute(new RopeConfig { Theta = 10000 }, headDim: 4);
        // 10000^(0/4) = 1, 10000^(2/4) = 100.
        Assert.Equal([1.0f, 0.01f], inv);
        Assert.Equal(1.0f, scaling);
    }

    [Fact]
    public void Default_frequencies_for_qwen3()
    {
        var (inv, _) = RopeFrequencies.Compute(new RopeConfig { Theta = 1_000_000 }, headDim: 128);
        Assert.Equal(64, inv.Length);
        Assert.Equal(1.0f, inv[0]);
        // exponents 32/64, 16/64 and 48/64: 1e6^0.5 = 1000, 1e6^0.25 = √1000, 1e6^0.75 = 1000·√1000.
        Assert.Equal(0.001f, inv[32]);
        Assert.Equal(1.0f / (float)Math.Sqrt(1000.0), inv[16]);
        Assert.Equal(1.0f / (float)(1000 * Math.Sqrt(1000.0)), inv[48]);
        for (int i = 0; i < inv.Length; i++)
        {
            float reference = (float)(1.0 / Math.Pow(1e6, i / 64.0));
            Assert.True(Math.Abs(inv[i] - reference) <= Ulp(reference), $"inv[{i}] = {inv[i]:R}, expected ≈ {reference:R}");
            if (i > 0) Assert.True(inv[i] < inv[i - 1]);
        }
    }

    [Fact]
    public void Dynamic_equals_default_within_the_trained_context()
    {
        var plain = RopeFrequencies.Compute(new RopeConfig { Theta = 10000 }, 64);
        var dynamic = RopeFrequencies.Compute(new RopeConfig { Theta = 10000, Type = "dynamic", Factor = 2 }, 64);
        Assert.Equal(plain.InverseFrequencies, dynamic.InverseFrequencies);
    }

    [Fact]
    public void Linear_scaling_divides_every_frequency()
    {
        var plain = RopeFrequencies.Compute(new RopeConfig { Theta = 10000 }, 64).InverseFrequencies;
        var linear = RopeFrequencies.Compute(new RopeConfig { Theta = 10000, Type = "linear", Factor = 4 }, 64).InverseFrequencies;
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i] / 4, linear[i]);
    }

    [Fact]
    public void Partial_rotary_factor_shortens_the_table()
    {
        var (inv, _) = RopeFrequencies.Compute(new RopeConfig { Theta = 10000, PartialRotaryFactor = 0.25 }, 64);
        // rotary dim 16: exponents 0, 2/16, ..., 14/16; 10000^(8/16) = 100.
        Assert.Equal(8, inv.Length);
        Assert.Equal(0.01f, inv[4]);
    }

    [Fact]
    public void Yarn_keeps_high_frequencies_and_interpolates_low_ones()
    {
        var rope = new RopeConfig { Theta = 1_000_000, Type = "yarn", Factor = 4, OriginalMaxPositionEmbeddings = 32768 };
        var (inv, scaling) = RopeFrequencies.Compute(rope, 128);
        var plain = RopeFrequencies.Compute(new RopeConfig { Theta = 1_000_000 }, 128).InverseFrequencies;

        // Correction range: 128·ln(32768 / (32·2π)) / (2·ln 1e6) = 23.596 → floor 23;
        //                   128·ln(32768 / (1·2π))  / (2·ln 1e6) = 39.651 → ceil 40.
        for (int i = 0; i <= 23; i++) Assert.Equal(plain[i], inv[i]);
        for (int i = 40; i < 64; i++) Assert.Equal(plain[i] / 4, inv[i]);
        // In between, the ramp (i - 23) / 17 blends extrapolation and interpolation.
        float ramp = (31f - 23f) / 17f;
        float blend = plain[31] / 4 * ramp + plain[31] * (1 - ramp);
        Assert.True(Math.Abs(inv[31] - blend) <= 2 * Ulp(blend), $"{inv[31]:R} vs {blend:R}");
        // 0.1·ln 4 + 1.
        Assert.Equal((float)(0.1 * Math.Log(4) + 1), scaling);
        Assert.Equal(1.1386294f, scaling);
    }

    [Fact]
    public void Yarn_attention_factor_from_mscale_or_explicit()
    {
        var baseRope = new RopeConfig { Theta = 10000, Type = "yarn", Factor = 40, OriginalMaxPositionEmbeddings = 4096 };
        // DeepSeek-style mscale = mscale_all_dim cancels out.
        Assert.Equal(1.0f, RopeFrequencies.Compute(baseRope with { Mscale = 1, MscaleAllDim = 1 }, 64).AttentionScaling);
        float expected = (float)((0.1 * 0.707 * Math.Log(40) + 1) / (0.1 * 1.0 * Math.Log(40) + 1));
        Assert.Equal(expected, RopeFrequencies.Compute(baseRope with { Mscale = 0.707, MscaleAllDim = 1.0 }, 64).AttentionScaling);
        Assert.Equal(1.25f, RopeFrequencies.Compute(baseRope with { AttentionFactor = 1.25 }, 64).AttentionScaling);
        Assert.Equal(1.0f, RopeFrequencies.Compute(baseRope with { Factor = 1.0 }, 64).AttentionScaling);
    }

    [Fact]
    public void Llama3_scales_only_low_frequencies()
    {
        var rope = new RopeConfig
        {
            Theta = 500_000, Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
        };
        var inv = RopeFrequencies.Compute(rope, 128).InverseFrequencies;
        var plain = RopeFrequencies.Compute(new RopeConfig { Theta = 500_000 }, 128).InverseFrequencies;
        // wavelength 2π·500000^(i/64) < 8192/4 for i ≤ 28 (kept), > 8192/1 for i ≥ 35 (divided by 8).
        for (int i = 0; i <= 28; i++) Assert.Equal(plain[i], inv[i]);
        for (int i = 35; i < 64; i++) Assert.Equal(plain[i] / 8, inv[i]);
        for (int i = 29; i <= 34; i++) Assert.InRange(inv[i], plain[i] / 8, plain[i]);
    }

    [Fact]
    public void Unsupported_type_and_missing_fields_are_clear_errors()
    {
        var ex = Assert.Throws<HearthException>(() => RopeFrequencies.Compute(new RopeConfig { Type = "longrope" }, 64));
        Assert.Contains("'longrope'", ex.Message);
        Assert.Contains("yarn", ex.Message);
        ex = Assert.Throws<HearthException>(() => RopeFrequencies.Compute(new RopeConfig { Type = "linear" }, 64));
        Assert.Contains("'factor'", ex.Message);
        ex = Assert.Throws<HearthException>(() => RopeFrequencies.Compute(new RopeConfig { PartialRotaryFactor = 0.01 }, 64));
        Assert.Contains("rotary dimension 0", ex.Message);
    }
}
