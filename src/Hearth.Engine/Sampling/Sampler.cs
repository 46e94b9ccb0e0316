using Hearth.Backends.Cpu;

namespace Hearth.Engine.Sampling;

/// <summary>
/// Picks the next token from one row of logits, in vLLM's order: penalties, then temperature, min-p,
/// top-k, top-p, and a draw from what is left. Reported logprobs are those of the raw logits, as
/// vLLM reports them by default. All scratch space is allocated once per vocabulary size, so sampling a
/// token allocates nothing. One instance serves one thread (the engine thread).
/// </summary>
public sealed class Sampler
{
    private readonly int _vocabSize;
    private readonly float[] _probs;        // [vocab] probabilities after temperature and filters
    private readonly int[] _candidateIds;   // [vocab] ids of tokens still in play
    private readonly float[] _candidateKeys; // [vocab] negated probabilities, so an ascending sort puts the likeliest first
    private readonly int[] _outputCounts;   // [vocab] occurrences in the output, for frequency/presence penalties
    private readonly int[] _seenStamp;      // [vocab] last call that penalized this token, for repetition penalty
    private readonly float[] _rawLogits;    // [vocab] logits before penalties, for reporting logprobs
    private int _stamp;

    public Sampler(int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize));
        _vocabSize = vocabSize;
        _probs = new float[vocabSize];
        _candidateIds = new int[vocabSize];
        _candidateKeys = new float[vocabSize];
        _outputCounts = new int[vocabSize];
        _seenStamp = new int[vocabSize];
        _rawLogits = new float[vocabSize];
    }

    /// <summary>
    /// Samples one token. <paramref name="logits"/> [vocab] is used as scratch and changed.
    /// <paramref name="topLogprobs"/> receives the <see cref="SamplingParams.TopLogprobs"/> likeliest raw
    /// tokens, likeliest first; it must be at least that long.
    /// </summary>
    /// <param name="computeLogprob">
    /// Whether the result needs the chosen token's logprob; without it (and without top logprobs) the log-sum-exp
    /// over the vocabulary, the costliest part of a greedy step, is skipped and Logprob is NaN.
    /// </param>
    public SampleResult Sample(Span<float> logits, SamplingParams parameters, ReadOnlySpan<int> promptTokens,
        ReadOnlySpan<int> outputTokens, ref SamplerRng rng, Span<TokenLogprob> topLogprobs, bool computeLogprob = true)
    {
        if (logits.Length != _vocabSize) throw new ArgumentException($"expected {_vocabSize} logits, got {logits.Length}");
        int numTop = Math.Min(parameters.TopLogprobs, _vocabSize);
        float logNormalizer = computeLogprob || numTop > 0 ? LogSumExp(logits) : float.NaN;
        if (numTop > 0) FillTopLogprobs(logits, logNormalizer, topLogprobs[..numTop]);

        bool penalized = parameters.RepetitionPenalty != 1f || parameters.FrequencyPenalty != 0 || parameters.PresencePenalty != 0;
        if (penalized) logits.CopyTo(_rawLogits);
        ApplyPenalties(logits, parameters, promptTokens, outputTokens);
        int token = parameters.IsGreedy ? GreedyToken(logits) : SampleFiltered(logits, parameters, ref rng);
        float rawLogit = penalized ? _rawLogits[token] : logits[token];
        return new SampleResult(token, rawLogit - logNormalizer, numTop);
    }

    private void ApplyPenalties(Span<float> logits, SamplingParams p, ReadOnlySpan<int> promptTokens, ReadOnlySpan<int> outputTokens)
    {
        if (p.RepetitionPenalty != 1f)
        {
            int stamp = NextStamp();
            PenalizeRepeats(logits, promptTokens, p.RepetitionPenalty, stamp);
            PenalizeRepeats(logits, outputTokens, p.RepetitionPenalty, stamp);
        }
        if (p.FrequencyPenalty != 0 || p.PresencePenalty != 0)
        {
            foreach (int t in outputTokens) _outputCounts[t]++;
            foreach (int t in outputTokens)
            {
                int count = _outputCounts[t];
                if (count == 0) continue; // already applied for this token
                logits[t] -= p.FrequencyPenalty * count + p.PresencePenalty;
                _outputCounts[t] = 0;
            }
        }
    }

    private void PenalizeRepeats(Span<float> logits, ReadOnlySpan<int> tokens, float penalty, int stamp)
    {
        foreach (int t in tokens)
        {
            if (_seenStamp[t] == stamp) continue;
            _seenStamp[t] = stamp;
            logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
        }
    }

    private int NextStamp()
    {
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_seenStamp);
            _stamp = 1;
        }
        return _stamp;
    }

    private int SampleFiltered(ReadOnlySpan<float> logits, SamplingParams p, ref SamplerRng rng)
    {
        float invTemperature = 1f / p.Temperature;
        float maxLogit = float.NegativeInfinity;
        foreach (float l in logits) if (l > maxLogit) maxLogit = l;

        // Unnormalized probabilities are enough: every filter below compares ratios or cumulative shares.
        Span<float> probs = _probs;
        float total = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            float e = MathF.Exp((logits[i] - maxLogit) * invTemperature);
            probs[i] = e;
            total += e;
        }

        // min-p keeps tokens at least MinP times as likely as the likeliest (whose weight is exactly 1 here).
        float threshold = p.MinP > 0 ? p.MinP : 0f;
        int numCandidates = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] > 0 && probs[i] >= threshold)
            {
                _candidateIds[numCandidates] = i;
                _candidateKeys[numCandidates] = -probs[i];
                numCandidates++;
            }
        }

        bool needsOrder = (p.TopK > 0 && p.TopK < numCandidates) || p.TopP < 1f;
        if (needsOrder)
        {
            if (p.TopK > 0 && p.TopK < numCandidates) numCandidates = KeepTopK(numCandidates, p.TopK);
            Array.Sort(_candidateKeys, _candidateIds, 0, numCandidates);
            if (p.TopP < 1f) numCandidates = KeepTopP(numCandidates, p.TopP);
        }

        float kept = 0;
        for (int i = 0; i < numCandidates; i++) kept -= _candidateKeys[i];
        double target = rng.NextDouble() * kept;
        double cumulative = 0;
        for (int i = 0; i < numCandidates; i++)
        {
            cumulative -= _candidateKeys[i];
            if (target < cumulative) return _candidateIds[i];
        }
        return _candidateIds[numCandidates - 1];
    }

    // Moves the k largest candidates to the front (in no particular order) by quickselect on the keys.
    private int KeepTopK(int count, int k)
    {
        int lo = 0, hi = count - 1;
        while (lo < hi)
        {
            float pivot = _candidateKeys[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (_candidateKeys[i] < pivot) i++;
                while (_candidateKeys[j] > pivot) j--;
                if (i <= j)
                {
                    (_candidateKeys[i], _candidateKeys[j]) = (_candidateKeys[j], _candidateKeys[i]);
                    (_candidateIds[i], _candidateIds[j]) = (_candidateIds[j], _candidateIds[i]);
                    i++;
                    j--;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else break;
        }
        return k;
    }

    // Candidates are sorted likeliest first: keep the shortest prefix whose share reaches topP.
    private int KeepTopP(int count, float topP)
    {
        double total = 0;
        for (int i = 0; i < count; i++) total -= _candidateKeys[i];
        double limit = topP * total;
        double cumulative = 0;
        for (int i = 0; i < count; i++)
        {
            cumulative -= _candidateKeys[i];
            if (cumulative >= limit) return i + 1;
        }
        return count;
    }

    /// <summary>The greedy token of a row of logits: the largest, the lowest id among ties; NaNs never win.</summary>
    public static int GreedyToken(ReadOnlySpan<float> logits) => VectorArgMax.IndexOfMax(logits);

    private static float LogSumExp(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        return max + (float)Math.Log(sum);
    }

    // A small sorted insertion list: N is at most 20, so this beats a heap and allocates nothing.
    private static void FillTopLogprobs(ReadOnlySpan<float> logits, float logNormalizer, Span<TokenLogprob> top)
    {
        int filled = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float l = logits[i];
            if (filled == top.Length && l <= top[filled - 1].Logprob) continue;
            int pos = filled < top.Length ? filled++ : top.Length - 1;
            while (pos > 0 && top[pos - 1].Logprob < l)
            {
                top[pos] = top[pos - 1];
                pos--;
            }
            top[pos] = new TokenLogprob(i, l);
        }
        for (int i = 0; i < filled; i++) top[i] = top[i] with { Logprob = top[i].Logprob - logNormalizer };
    }
}
