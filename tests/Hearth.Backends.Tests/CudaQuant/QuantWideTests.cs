using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// The wide quantized GEMV (gemv_quant_wide.cu) on the host side: which shapes it takes, how many warps a tile gets,
/// and its e4m3 widening (a sign-replicating prmt, a shift and a mask), emulated from PTX's definition of prmt and
/// checked against the exact e4m3 values for every byte, with the constants read from the kernel source.
/// </summary>
public class QuantWideTests
{
    [Theory]
    [InlineData(2, 5120, 128, true)]      // FP8 128x128: two scale blocks a stage of 256 k
    [InlineData(2, 17408, 128, true)]
    [InlineData(2, 768, 128, true)]
    [InlineData(2, 640, 128, false)]      // 2.5 stages
    [InlineData(2, 5120, 512, true)]      // a scale block holds whole stages
    [InlineData(0, 5120, 128, true)]      // AWQ/GPTQ g128: 4 groups a stage of 512 k
    [InlineData(0, 5120, 64, true)]       // 8 groups a stage
    [InlineData(0, 5120, 32, false)]      // Q4_K / Q4_0: 16 groups a stage
    [InlineData(0, 768, 128, false)]      // 1.5 stages
    [InlineData(0, 5120, 5120, false)]    // per-channel: not a power of two of k-tiles
    [InlineData(1, 5120, 32, false)]      // g8 keeps the ring kernel
    public void Takes_only_shapes_its_stages_cover(int familyIndex, int k, int group, bool expected) =>
        Assert.Equal(expected, CudaQuantWide.Fits((CudaQuantFamily)familyIndex, k, group));

    [Theory]
    [InlineData(2, 5120, 5120, null, 4)]       // the measured default
    [InlineData(2, 5120, 17408, 8, 8)]         // 20 stages: 8 warps take 2 or 3
    [InlineData(2, 768, 200, 8, 4)]            // 3 stages: never fewer than 4 warps, never idle beyond that
    [InlineData(2, 2048, 200, 8, 8)]           // 8 stages
    [InlineData(0, 17408, 5120, 4, 4)]
    [InlineData(2, 5120, 5120, 16, 4)]         // not 4 or 8 (a block holds at most 8): the rule
    public void Warps_a_tile_follow_the_override_within_the_stages(int familyIndex, int k, int rows, int? overrideWarps, int expected) =>
        Assert.Equal(expected, CudaQuantWide.WarpsFor((CudaQuantFamily)familyIndex, k, rows, overrideWarps));

    [Fact]
    public void The_kernel_constants_match_the_host()
    {
        string source = KernelSource("gemv_quant_wide.cu");
        Assert.Contains($"#define QW_LOADS {CudaQuantWide.Loads}\n", source.Replace("\r", ""), StringComparison.Ordinal);
        Assert.Contains($"#define QW_MAX_WARPS {CudaQuantWide.MaxWarps}\n", source.Replace("\r", ""), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4", 4)]
    [InlineData("8", 8)]
    [InlineData("16", null)]
    [InlineData("0", null)]
    [InlineData(null, null)]
    [InlineData("x", null)]
    public void Parses_the_warps_variable(string? value, int? expected) => Assert.Equal(expected, CudaQuantWide.ParseWarps(value));

    [Fact]
    public void E4m3_widening_gives_the_exact_values_of_every_byte_pair()
    {
        string source = KernelSource("gemv_quant_wide.cu");
        Assert.Contains("(t << 4) & 0x87F087F0u", source, StringComparison.Ordinal);
        Assert.Contains("qw_e4m3x2(w0, 0x9180u)", source, StringComparison.Ordinal);
        Assert.Contains("qw_e4m3x2(w0, 0xB3A2u)", source, StringComparison.Ordinal);
        for (int lo = 0; lo < 256; lo++)
            for (int hi = 0; hi < 256; hi += 7)
            {
                if ((lo & 0x7F) == 0x7F || (hi & 0x7F) == 0x7F) continue;   // NaN: never in a checkpoint's weights
                uint w = (uint)(lo | hi << 8 | (hi ^ 0x5A) << 16 | lo << 24);
                AssertPair(Widen(w, 0x9180u), (byte)lo, (byte)hi);
                if (((hi ^ 0x5A) & 0x7F) != 0x7F) AssertPair(Widen(w, 0xB3A2u), (byte)(hi ^ 0x5A), (byte)lo);
            }
    }

    private static void AssertPair(uint bf16x2, byte lo, byte hi)
    {
        Assert.Equal(Float8E4M3.ToSingle(lo), BFloat16Bits.ToSingle((ushort)bf16x2));
        Assert.Equal(Float8E4M3.ToSingle(hi), BFloat16Bits.ToSingle((ushort)(bf16x2 >> 16)));
    }

    // prmt.b32 d, w, w, selector (default mode: a selector nibble's bit 3 replicates the chosen byte's sign), then the
    // shift and mask, then fma.rn.bf16x2 by 2^120 (exact: every e4m3 value is a bf16 value).
    private static uint Widen(uint w, uint selector)
    {
        ulong source = w | (ulong)w << 32;
        uint t = 0;
        for (int i = 0; i < 4; i++)
        {
            uint s = (selector >> (4 * i)) & 0xF;
            uint b = (uint)(source >> (int)(8 * (s & 7))) & 0xFF;
            if ((s & 8) != 0) b = (b & 0x80) != 0 ? 0xFFu : 0u;
            t |= b << (8 * i);
        }
        uint bits = (t << 4) & 0x87F087F0u;
        float lo = BFloat16Bits.ToSingle((ushort)bits) * MathF.Pow(2, 120), hi = BFloat16Bits.ToSingle((ushort)(bits >> 16)) * MathF.Pow(2, 120);
        return BFloat16Bits.FromSingle(lo) | (uint)BFloat16Bits.FromSingle(hi) << 16;
    }

    private static string KernelSource(string module)
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + module)
            ?? throw new InvalidOperationException($"{module} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
