using Hearth.Core;

namespace Hearth.Backends.Tests;

public class BFloat16BitsTests
{
    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(-2.5f, (ushort)0xC020)]
    [InlineData(0.0f, (ushort)0x0000)]
    // 1 + 2^-8 is exactly halfway between two bf16 values and rounds to the even one (1.0).
    [InlineData(1.00390625f, (ushort)0x3F80)]
    // 1 + 3·2^-8 is halfway too and rounds up to the even mantissa.
    [InlineData(1.01171875f, (ushort)0x3F82)]
    public void FromSingle_rounds_to_nearest_even(float value, ushort expected)
    {
        Assert.Equal(expected, BFloat16Bits.FromSingle(value));
    }

    [Fact]
    public void FromSingle_keeps_nan_a_nan()
    {
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(float.NaN))));
    }

    [Fact]
    public void Round_trip_is_exact_for_bf16_values()
    {
        for (int bits = 0; bits < 0x10000; bits += 7)
        {
            float f = BFloat16Bits.ToSingle((ushort)bits);
            if (float.IsNaN(f)) continue;
            Assert.Equal((ushort)bits, BFloat16Bits.FromSingle(f));
        }
    }
}
