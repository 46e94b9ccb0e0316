using Hearth.Backends.Cuda;
using Hearth.Engine.Sampling;

namespace Hearth.Engine.Tests.Sampling;

/// <summary>
/// The GPU sampler's host half (<see cref="DeviceSamplingInputs"/>) and its algorithm (<see cref="SamplingReference"/>,
/// which the parity runner checks the CUDA kernel against) have the CPU <see cref="Sampler"/>'s semantics.
/// </summary>
public class DeviceSamplingTests
{
    private const int Vocab = 1000;

    private static float[] RandomLogits(int seed, int vocab = Vocab, double scale = 4)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 2 * scale - scale)).ToArray();
    }

    private static SamplingRowParams Row(SamplingParams p, float uniform = 0) => new()
    {
        Temperature = p.IsGreedy ? 0 : p.Temperature, TopK = p.TopK, TopP = p.TopP, MinP = p.MinP,
        RepetitionPenalty = p.RepetitionPenalty, PresencePenalty = p.PresencePenalty, FrequencyPenalty = p.FrequencyPenalty, Uniform = uniform,
    };

    private static (int[] Tokens, int[] Counts) Penalties(SamplingParams p, int[] prompt, int[] output)
    {
        var inputs = new DeviceSamplingInputs(Vocab, 1);
        var rng = new SamplerRng(1);
        inputs.Add(p, prompt, output, ref rng);
        return (inputs.PenaltyTokens.ToArray(), inputs.PenaltyCounts.ToArray());
    }

    [Fact]
    public void Penalty_lists_hold_each_distinct_token_once_with_its_output_count()
    {
        int[] prompt = [5, 5, 7], output = [7, 9, 9, 9];
        var both = Penalties(new SamplingParams { RepetitionPenalty = 1.2f, FrequencyPenalty = 0.5f }, prompt, output);
        Assert.Equal([5, 7, 9], both.Tokens);
        Assert.Equal([0, 1, 3], both.Counts);
        var outputOnly = Penalties(new SamplingParams { PresencePenalty = 0.5f }, prompt, output);
        Assert.Equal([7, 9], outputOnly.Tokens);
        Assert.Equal([1, 3], outputOnly.Counts);
        var repetitionOnly = Penalties(new SamplingParams { RepetitionPenalty = 1.3f }, prompt, output);
        Assert.Equal([5, 7, 9], repetitionOnly.Tokens);
        Assert.Equal([0, 0, 0], repetitionOnly.Counts);
        Assert.Empty(Penalties(new SamplingParams { Temperature = 0.8f }, prompt, output).Tokens);
    }

    [Fact]
    public void Rows_keep_their_own_penalty_ranges_and_greedy_rows_draw_no_random_number()
    {
        var inputs = new DeviceSamplingInputs(Vocab, 1);   // grows past its first size
        var greedyRng = new SamplerRng(3);
        var sampledRng = new SamplerRng(3);
        inputs.Add(new SamplingParams { Temperature = 0, FrequencyPenalty = 1 }, [1, 2], [3, 3], ref greedyRng);
        inputs.Add(new SamplingParams { Temperature = 0.7f, RepetitionPenalty = 1.1f }, [3, 4], [4], ref sampledRng);
        Assert.Equal(2, inputs.NumRows);
        Assert.Equal([0, 1, 3], inputs.Offsets.ToArray());
        Assert.Equal([3, 3, 4], inputs.PenaltyTokens.ToArray());
        Assert.Equal([2, 0, 0], inputs.PenaltyCounts.ToArray());
        Assert.Equal(0f, inputs.Rows[0].Uniform);
        Assert.Equal(new SamplerRng(3).NextUInt64(), greedyRng.NextUInt64());
        var expected = new SamplerRng(3);
        Assert.Equal(SamplingRowParams.ToUniform(expected.NextDouble()), inputs.Rows[1].Uniform);
        Assert.True(inputs.Rows[1].Uniform < 1f);
    }

    [Fact]
    public void The_same_seed_gives_the_same_uniform_numbers()
    {
        float[] Uniforms(ulong seed)
        {
            var inputs = new DeviceSamplingInputs(Vocab, 8);
            var rng = new SamplerRng(seed);
            for (int i = 0; i < 8; i++) inputs.Add(new SamplingParams { Temperature = 1 }, [1], [], ref rng);
            return inputs.Rows.ToArray().Select(r => r.Uniform).ToArray();
        }
        Assert.Equal(Uniforms(42), Uniforms(42));
        Assert.NotEqual(Uniforms(42), Uniforms(43));
    }

    [Fact]
    public void Greedy_with_penalties_picks_what_the_cpu_sampler_picks()
    {
        var sampler = new Sampler(Vocab);
        var top = new TokenLogprob[1];
        for (int seed = 0; seed < 40; seed++)
        {
            var logits = RandomLogits(seed, scale: 1);
            var random = new Random(seed);
            int[] prompt = Enumerable.Range(0, 30).Select(_ => random.Next(Vocab)).ToArray();
            // The output repeats the current favourites, so the penalties must move the argmax.
            int[] output = [.. Enumerable.Range(0, 6).Select(_ => SamplingReference.ArgMax(logits)), random.Next(Vocab)];
            var p = new SamplingParams { Temperature = 0, RepetitionPenalty = 1.3f, FrequencyPenalty = 0.4f, PresencePenalty = 0.3f };
            var rng = new SamplerRng(1);
            int expected = sampler.Sample(logits.ToArray(), p, prompt, output, ref rng, top, computeLogprob: false).TokenId;
            var (tokens, counts) = Penalties(p, prompt, output);
            Assert.Equal(expected, SamplingReference.SampleRow(logits.ToArray(), Row(p), tokens, counts));
            Assert.NotEqual(SamplingReference.ArgMax(logits), expected);
        }
    }

    [Fact]
    public void Top_k_of_one_is_greedy_at_any_temperature_and_uniform()
    {
        var logits = RandomLogits(5);
        int argmax = SamplingReference.ArgMax(logits);
        foreach (float u in new[] { 0f, 0.3f, 0.99999994f })
            Assert.Equal(argmax, SamplingReference.SampleRow(logits.ToArray(), Row(new SamplingParams { Temperature = 1.7f, TopK = 1 }, u), [], []));
    }

    [Theory]
    [InlineData(1.0f, 0, 0.8f, 0f)]
    [InlineData(0.7f, 20, 1.0f, 0f)]
    [InlineData(1.0f, 0, 1.0f, 0.2f)]
    [InlineData(1.3f, 50, 0.9f, 0.05f)]
    public void Kept_tokens_and_frequencies_match_the_cpu_sampler(float temperature, int topK, float topP, float minP)
    {
        var logits = RandomLogits(11, scale: 3);
        var p = new SamplingParams { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP };
        var weights = new float[Vocab];
        SamplingReference.Filter(logits, Row(p), weights);
        double total = weights.Sum(w => (double)w);
        var kept = Enumerable.Range(0, Vocab).Where(i => weights[i] > 0).ToHashSet();

        // The CPU sampler, over many draws of one seeded generator.
        const int Draws = 40_000;
        var sampler = new Sampler(Vocab);
        var rng = new SamplerRng(99);
        var top = new TokenLogprob[1];
        var counts = new int[Vocab];
        for (int i = 0; i < Draws; i++) counts[sampler.Sample(logits.ToArray(), p, [], [], ref rng, top, computeLogprob: false).TokenId]++;
        Assert.All(Enumerable.Range(0, Vocab).Where(i => counts[i] > 0), i => Assert.Contains(i, kept));
        for (int i = 0; i < Vocab; i++)
        {
            double expected = weights[i] / total;
            double sigma = Math.Sqrt(expected * (1 - expected) / Draws);
            Assert.True(Math.Abs(counts[i] / (double)Draws - expected) <= 5 * sigma + 1e-4,
                $"token {i}: cpu sampler frequency {counts[i] / (double)Draws:F4}, reference probability {expected:F4}");
        }
    }

    [Fact]
    public void An_infinite_logit_leaves_no_finite_weight_and_falls_back_to_the_argmax()
    {
        var logits = RandomLogits(3);
        logits[123] = float.PositiveInfinity;
        var p = new SamplingParams { Temperature = 0.9f, TopP = 0.9f };
        Assert.Equal(123, SamplingReference.SampleRow(logits, Row(p, 0.5f), [], []));
    }

    [Fact]
    public void The_draw_maps_uniform_numbers_onto_the_kept_weights()
    {
        float[] weights = [0, 0.5f, 0, 1f, 0.5f];
        Assert.Equal(1, SamplingReference.Draw(weights, 0f));
        Assert.Equal(1, SamplingReference.Draw(weights, 0.2499f));
        Assert.Equal(3, SamplingReference.Draw(weights, 0.25f));
        Assert.Equal(4, SamplingReference.Draw(weights, 0.75f));
        Assert.Equal(4, SamplingReference.Draw(weights, 0.99999994f));
    }
}
