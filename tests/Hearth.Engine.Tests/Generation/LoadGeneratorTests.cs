using Hearth.Engine.Benchmarking;

namespace Hearth.Engine.Tests.Generation;

public class LoadGeneratorTests
{
    [Fact]
    public void Percentiles_interpolate_between_closest_ranks()
    {
        double[] values = [40, 10, 30, 20];
        Assert.Equal(10, LoadGenerator.Percentile(values, 0));
        Assert.Equal(25, LoadGenerator.Percentile(values, 50));
        Assert.Equal(37, LoadGenerator.Percentile(values, 90), 6);
        Assert.Equal(40, LoadGenerator.Percentile(values, 100));
        Assert.True(double.IsNaN(LoadGenerator.Percentile([], 50)));
    }

    [Fact]
    public void Random_prompts_are_reproducible_and_avoid_special_tokens()
    {
        var a = LoadGenerator.RandomPrompts(3, 50, seed: 42, vocabSize: 151_936);
        var b = LoadGenerator.RandomPrompts(3, 50, seed: 42, vocabSize: 151_936);
        Assert.Equal(a, b);
        Assert.All(a.SelectMany(p => p), id => Assert.InRange(id, 100, 149_999));
        Assert.All(LoadGenerator.RandomPrompts(2, 10, seed: 1, vocabSize: 1000).SelectMany(p => p), id => Assert.InRange(id, 100, 999));
    }
}
