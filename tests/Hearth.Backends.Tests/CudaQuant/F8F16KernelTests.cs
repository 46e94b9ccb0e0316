using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Session 11 (branch f8c): the fp8 wide GEMV's f16 kernels on the host side. Which devices take them, the switch, and
/// the arithmetic they rely on: every e4m3 value is an f16 value (cvt.rn.f16x2.e4m3x2 is exact), and x · 2^-8 is an
/// exact f16 for every bf16 x with 2^-9 ≤ |x| &lt; 2^24, so the f16 MMA's products are the bf16 kernel's times 2^-8
/// exactly there (the kernel undoes the 2^-8 in its f32 fold). Constants are read from the kernel source.
/// </summary>
public class F8F16KernelTests
{
    [Theory]
    [InlineData(9, 0, true, true)]     // H100
    [InlineData(8, 9, true, true)]     // Ada
    [InlineData(10, 0, true, true)]
    [InlineData(8, 6, true, false)]    // Ampere: no e4m3 conversion, the bf16 kernels
    [InlineData(8, 0, true, false)]
    [InlineData(9, 0, false, false)]   // HEARTH_CUDA_F8_NEW=0
    public void F16KernelsNeedSm89AndTheSwitch(int major, int minor, bool switchOn, bool expected) =>
        Assert.Equal(expected, CudaQuantWide.UsesF16Kernels(major, minor, switchOn));

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData(" 0 ", false)]
    [InlineData("", true)]
    public void SwitchIsOnUnlessZero(string? value, bool expected) => Assert.Equal(expected, CudaQuantWide.ParseF16Switch(value));

    [Fact]
    public void EveryE4M3ValueIsAnExactHalf()
    {
        for (int b = 0; b < 256; b++)
        {
            if ((b & 0x7F) == 0x7F) continue;   // NaN
            float value = Float8E4M3.ToSingle((byte)b);
            Assert.Equal(value, (float)(Half)value);
        }
    }

    [Fact]
    public void ScaledBf16IsAnExactHalfInTheStatedRange()
    {
        float scale = Scale();
        Assert.Equal(1f / 256, scale);
        for (int bits = 0; bits < 0x10000; bits++)
        {
            float x = BFloat16Bits.ToSingle((ushort)bits);
            if (!float.IsFinite(x) || x == 0) continue;
            float scaled = x * scale;
            bool exact = (float)(Half)scaled == scaled;
            float magnitude = MathF.Abs(x);
            if (magnitude >= MathF.Pow(2, -9) && magnitude < MathF.Pow(2, 24)) Assert.True(exact, $"x = {x} is in the range but not exact");
        }
        // Just outside: 2^24 overflows f16 (65536 > 65504) and 2^-10 · (1 + 2^-7) loses its last bit.
        Assert.True(float.IsInfinity((float)(Half)(MathF.Pow(2, 24) * scale)));
        float tiny = MathF.Pow(2, -10) * (1 + 1f / 128);
        Assert.NotEqual(tiny * scale, (float)(Half)(tiny * scale));
    }

    [Fact]
    public void KernelRowLimitMatchesHost()
    {
        string source = QuantWideTestsSource();
        var match = Regex.Match(source, @"#define QW_XH_ROWS (\d+)");
        Assert.True(match.Success);
        Assert.Equal(CudaQuantWide.F16MaxRows, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("QW_KERNEL(gemv_f8_wide_h, 2, true)", source);
        Assert.Contains("QW_SILU_KERNEL(gemv_silu_f8_wide_h, 2, true)", source);
    }

    private static float Scale()
    {
        var match = Regex.Match(QuantWideTestsSource(), @"#define QW_XH_SCALE ([0-9.]+)f");
        Assert.True(match.Success);
        return float.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string QuantWideTestsSource()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels.gemv_quant_wide.cu")
            ?? throw new InvalidOperationException("gemv_quant_wide.cu is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
