namespace Hearth.Backends.Tests.Quant;

public class Float8E4M3Tests
{
    [Fact]
    public void Decoding_matches_the_definition_for_every_finite_byte()
    {
        for (int b = 0; b < 256; b++)
        {
            if ((b & 0x7F) == 0x7F)
            {
                Assert.True(float.IsNaN(Float8E4M3.ToSingle((byte)b)));
                continue;
            }
            Assert.Equal(QuantArena.E4M3((byte)b), Float8E4M3.ToSingle((byte)b));
        }
        Assert.Equal(448f, Float8E4M3.ToSingle(0x7E));
        Assert.Equal(1f, Float8E4M3.ToSingle(0x38));
        Assert.Equal(MathF.Pow(2, -9), Float8E4M3.ToSingle(0x01));
    }

    [Fact]
    public void Encoding_round_trips_and_rounds_to_the_nearest_value()
    {
        for (int b = 0; b < 256; b++)
        {
            if ((b & 0x7F) == 0x7F || b == 0x80) continue;
            Assert.Equal((byte)b, Float8E4M3.FromSingle(Float8E4M3.ToSingle((byte)b)));
        }
        var random = new Random(3);
        for (int i = 0; i < 20000; i++)
        {
            float value = (float)((random.NextDouble() * 2 - 1) * Math.Pow(2, random.Next(-12, 10)));
            float encoded = Float8E4M3.ToSingle(Float8E4M3.FromSingle(value));
            float best = Enumerable.Range(0, 256).Where(b => (b & 0x7F) != 0x7F)
                .Select(b => Float8E4M3.ToSingle((byte)b)).MinBy(v => Math.Abs(v - Math.Clamp(value, -448f, 448f)));
            Assert.Equal(Math.Abs(best - Math.Clamp(value, -448f, 448f)), Math.Abs(encoded - Math.Clamp(value, -448f, 448f)));
        }
        Assert.Equal(0x7E, Float8E4M3.FromSingle(1e6f));
        Assert.Equal(0xFE, Float8E4M3.FromSingle(-500f));
    }
}
