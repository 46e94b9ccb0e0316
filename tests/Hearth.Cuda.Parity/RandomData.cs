using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>Seeded random inputs rounded to bf16, so both backends start from identical values.</summary>
internal sealed class RandomData(int seed)
{
    private readonly Random _random = new(seed);

    public float[] Uniform(long count, float low = -1f, float high = 1f)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(low + (high - low) * _random.NextSingle()));
        return values;
    }

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    public int Next(int minInclusive, int maxExclusive) => _random.Next(minInclusive, maxExclusive);

    public void Shuffle(int[] values) => _random.Shuffle(values);
}
