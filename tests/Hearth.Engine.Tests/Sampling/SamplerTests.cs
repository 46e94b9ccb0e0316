using Hearth.Core;
using Hearth.Engine.Sampling;

namespace Hearth.Engine.Tests.Sampling;

public class SamplerTests
{
    private static readonly int[] NoTokens = [];

    private static float[] LogitsFromProbs(params double[] probs) => probs.Select(p => (float)Math.Log(p)).ToArray();

    private static int[] Draw(float[] logits, SamplingParams p, int count, ulong seed = 7)
    {
        var sampler = new Sampler(logits.Length);
        var rng = new SamplerRng(seed);
        var scratch = new float[logits.Length];
        var top = new TokenLogprob[20];
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            logits.CopyTo(scratch, 0);
            result[i] = sampler.Sample(scratch, p, NoTokens, NoTokens, ref rng, top).TokenId;
        }
        return result;
    }

    [Fact]
    public void Greedy_picks_the_largest_logit_and_reports_its_raw_logprob()
    {
        float[] logits = [0.5f, 3f, -1f, 2.9f];
        var sampler = new Sampler(4);
        var rng = new SamplerRng(1);
        var top = new TokenLogprob[4];
        var result = sampler.Sample((float[])logits.Clone(), new SamplingParams { Temperature = 0, TopLogprobs = 3 }, NoTokens, NoTokens, ref rng, top);

        double lse = Math.Log(logits.Sum(l => Math.Exp(l)));
        Assert.Equal(1, result.TokenId);
        Assert.Equal(3 - lse, result.Logprob, 5);
        Assert.Equal(3, result.NumTopLogprobs);
        Assert.Equal([1, 3, 0], top[..3].Select(t => t.TokenId));
        Assert.Equal(2.9 - lse, top[1].Logprob, 5);
    }

    [Fact]
    public void Top_logprobs_match_a_full_sort_on_a_large_vocabulary()
    {
        var random = new Random(3);
        var logits = Enumerable.Range(0, 5000).Select(_ => (float)(random.NextDouble() * 20 - 10)).ToArray();
        var sampler = new Sampler(logits.Length);
        var rng = new SamplerRng(1);
        var top = new TokenLogprob[20];
        sampler.Sample((float[])logits.Clone(), new SamplingParams { Temperature = 0, TopLogprobs = 20 }, NoTokens, NoTokens, ref rng, top);
        var expected = logits.Select((l, i) => (l, i)).OrderByDescending(x => x.l).Take(20).Select(x => x.i);
        Assert.Equal(expected, top.Select(t => t.TokenId));
    }

    [Fact]
    public void A_seed_reproduces_the_same_tokens_and_another_seed_does_not()
    {
        var logits = Enumerable.Range(0, 100).Select(i => (float)Math.Sin(i)).ToArray();
        var p = new SamplingParams { Temperature = 1.0f };
        Assert.Equal(Draw(logits, p, 50, seed: 42), Draw(logits, p, 50, seed: 42));
        Assert.NotEqual(Draw(logits, p, 50, seed: 42), Draw(logits, p, 50, seed: 43));
    }

    [Fact]
    public void Sampling_at_temperature_one_follows_the_softmax()
    {
        double[] probs = [0.5, 0.25, 0.15, 0.1];
        var counts = new int[4];
        foreach (int t in Draw(LogitsFromProbs(probs), new SamplingParams(), 20000)) counts[t]++;
        for (int i = 0; i < 4; i++) Assert.InRange(counts[i] / 20000.0, probs[i] - 0.015, probs[i] + 0.015);
    }

    [Fact]
    public void Low_temperature_sharpens_the_distribution()
    {
        var tokens = Draw(LogitsFromProbs(0.4, 0.35, 0.25), new SamplingParams { Temperature = 0.05f }, 2000);
        // At T = 0.05 token 0 has weight 1 / (1 + (0.35/0.4)^20 + (0.25/0.4)^20) ≈ 0.935, against 0.4 at T = 1.
        Assert.InRange(tokens.Count(t => t == 0) / 2000.0, 0.91, 0.96);
    }

    [Fact]
    public void Top_k_keeps_only_the_k_likeliest()
    {
        var tokens = Draw(LogitsFromProbs(0.1, 0.3, 0.05, 0.25, 0.3), new SamplingParams { TopK = 2 }, 3000);
        Assert.All(tokens, t => Assert.Contains(t, new[] { 1, 4 }));
        Assert.Contains(1, tokens);
        Assert.Contains(4, tokens);
    }

    [Fact]
    public void Top_p_keeps_the_shortest_prefix_reaching_p()
    {
        var logits = LogitsFromProbs(0.15, 0.5, 0.05, 0.3);
        var tokens = Draw(logits, new SamplingParams { TopP = 0.7f }, 3000);
        Assert.Equal(new[] { 1, 3 }, tokens.Distinct().Order());
        Assert.Equal(new[] { 1 }, Draw(logits, new SamplingParams { TopP = 0.5f }, 500).Distinct());
    }

    [Fact]
    public void Min_p_drops_tokens_far_below_the_likeliest()
    {
        var tokens = Draw(LogitsFromProbs(0.4, 0.3, 0.19, 0.11), new SamplingParams { MinP = 0.5f }, 3000);
        Assert.Equal(new[] { 0, 1 }, tokens.Distinct().Order());
    }

    [Fact]
    public void Repetition_penalty_turns_greedy_away_from_repeated_tokens()
    {
        float[] logits = [2.0f, 1.8f, -1f];
        var sampler = new Sampler(3);
        var rng = new SamplerRng(1);
        var p = new SamplingParams { Temperature = 0, RepetitionPenalty = 1.5f };
        var result = sampler.Sample((float[])logits.Clone(), p, [0], NoTokens, ref rng, Span<TokenLogprob>.Empty);
        Assert.Equal(1, result.TokenId);
        // The reported logprob is the raw one, not the penalized one.
        double lse = Math.Log(logits.Sum(l => Math.Exp(l)));
        Assert.Equal(1.8 - lse, result.Logprob, 5);
    }

    [Fact]
    public void Frequency_and_presence_penalties_count_output_tokens_only()
    {
        float[] logits = [2.0f, 1.5f, 1.2f];
        var sampler = new Sampler(3);
        var rng = new SamplerRng(1);
        var frequency = new SamplingParams { Temperature = 0, FrequencyPenalty = 0.3f };
        // Token 0 appears twice in the output: 2.0 - 0.6 = 1.4 < 1.5.
        Assert.Equal(1, sampler.Sample((float[])logits.Clone(), frequency, NoTokens, [0, 0], ref rng, default).TokenId);
        // Once: 2.0 - 0.3 = 1.7 > 1.5.
        Assert.Equal(0, sampler.Sample((float[])logits.Clone(), frequency, NoTokens, [0], ref rng, default).TokenId);
        // In the prompt only: no frequency penalty.
        Assert.Equal(0, sampler.Sample((float[])logits.Clone(), frequency, [0, 0, 0], NoTokens, ref rng, default).TokenId);
        var presence = new SamplingParams { Temperature = 0, PresencePenalty = 0.6f };
        Assert.Equal(1, sampler.Sample((float[])logits.Clone(), presence, NoTokens, [0], ref rng, default).TokenId);
    }

    [Fact]
    public void Sampling_allocates_nothing_after_warm_up()
    {
        var logits = Enumerable.Range(0, 4096).Select(i => (float)Math.Cos(i * 0.37)).ToArray();
        var sampler = new Sampler(logits.Length);
        var rng = new SamplerRng(5);
        var top = new TokenLogprob[5];
        var scratch = new float[logits.Length];
        int[] prompt = [1, 2, 3];
        int[] output = [4, 5, 4];
        var p = new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, MinP = 0.01f, RepetitionPenalty = 1.1f, FrequencyPenalty = 0.2f, TopLogprobs = 5 };
        logits.CopyTo(scratch, 0);
        sampler.Sample(scratch, p, prompt, output, ref rng, top);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            logits.CopyTo(scratch, 0);
            sampler.Sample(scratch, p, prompt, output, ref rng, top);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Theory]
    [InlineData(-0.1f, 1f, "temperature")]
    [InlineData(1f, 0f, "top_p")]
    [InlineData(1f, 1.5f, "top_p")]
    public void Validate_names_the_bad_parameter(float temperature, float topP, string name)
    {
        var error = Assert.Throws<HearthException>(() => new SamplingParams { Temperature = temperature, TopP = topP }.Validate());
        Assert.Contains(name, error.Message);
    }
}
