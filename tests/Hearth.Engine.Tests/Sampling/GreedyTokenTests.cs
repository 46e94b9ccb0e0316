using Hearth.Engine.Sampling;

namespace Hearth.Engine.Tests.Sampling;

/// <summary>The vectorized greedy pick must agree with the plain rule: largest value, lowest id on ties, NaN never wins.</summary>
public class GreedyTokenTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(151936)]
    public void Matches_the_scalar_rule_on_random_rows(int length)
    {
        var random = new Random(length);
        var values = new float[length];
        for (int trial = 0; trial < 20; trial++)
        {
            for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 40 - 20);
            // Ties: copy the maximum to a later and an earlier place now and then.
            int best = Scalar(values);
            if (trial % 3 == 1 && length > 2) values[length - 1] = values[best];
            if (trial % 3 == 2 && best > 0) values[random.Next(best)] = values[best];
            Assert.Equal(Scalar(values), Sampler.GreedyToken(values));
        }
    }

    [Fact]
    public void Takes_the_lowest_id_among_equal_maxima_anywhere_in_the_row()
    {
        var values = new float[5000];
        Array.Fill(values, -1f);
        values[4999] = 3f;
        values[1234] = 3f;
        values[4000] = 3f;
        Assert.Equal(1234, Sampler.GreedyToken(values));
        values[0] = 3f;
        Assert.Equal(0, Sampler.GreedyToken(values));
    }

    [Fact]
    public void Ignores_NaN_and_treats_signed_zeros_as_equal()
    {
        var values = new float[300];
        Array.Fill(values, -5f);
        values[10] = float.NaN;
        values[200] = 2f;
        values[299] = float.NaN;
        Assert.Equal(200, Sampler.GreedyToken(values));

        Array.Fill(values, -5f);
        values[50] = -0f;
        values[60] = 0f;
        Assert.Equal(50, Sampler.GreedyToken(values));
    }

    [Fact]
    public void Picks_among_infinities_by_the_same_rule()
    {
        var values = new float[100];
        Array.Fill(values, float.NegativeInfinity);
        Assert.Equal(0, Sampler.GreedyToken(values));
        values[70] = float.PositiveInfinity;
        values[90] = float.PositiveInfinity;
        Assert.Equal(70, Sampler.GreedyToken(values));
    }

    private static int Scalar(float[] values)
    {
        int best = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i])) continue;
            if (best < 0 || values[i] > values[best]) best = i;
        }
        return Math.Max(best, 0);
    }
}
