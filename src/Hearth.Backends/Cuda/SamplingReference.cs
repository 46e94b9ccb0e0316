namespace Hearth.Backends.Cuda;

/// <summary>
/// The algorithm of <see cref="CudaBackend.SampleRows"/> on the CPU, for tests and the parity runner: penalties,
/// then temperature, min-p, top-k, top-p (the CPU Sampler's order and thresholds), then a draw that walks the
/// kept tokens in vocabulary order. Thresholds are found exactly (by sorting) where the GPU bisects; with no ties
/// at a cut both keep the same set. Not for hot paths: it allocates.
/// </summary>
public static class SamplingReference
{
    /// <summary>Applies the penalties in place: repetition (HF style) then frequency and presence (OpenAI style).</summary>
    public static void ApplyPenalties(Span<float> logits, in SamplingRowParams p, ReadOnlySpan<int> tokens, ReadOnlySpan<int> outputCounts)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = tokens[i];
            if ((uint)t >= (uint)logits.Length) continue;
            float l = logits[t];
            if (p.RepetitionPenalty != 1f) l = l > 0 ? l / p.RepetitionPenalty : l * p.RepetitionPenalty;
            if (outputCounts[i] > 0) l -= p.FrequencyPenalty * outputCounts[i] + p.PresencePenalty;
            logits[t] = l;
        }
    }

    /// <summary>
    /// Writes each token's unnormalized weight after temperature and the filters into <paramref name="weights"/>
    /// [vocab] (0 for tokens cut; the likeliest token weighs 1) and returns the largest logit. Not for greedy rows.
    /// </summary>
    public static float Filter(ReadOnlySpan<float> logits, in SamplingRowParams p, Span<float> weights)
    {
        float maxLogit = float.NegativeInfinity;
        foreach (float l in logits) maxLogit = MathF.Max(maxLogit, l);
        float invTemperature = 1f / p.Temperature;
        float floor = p.MinP > 0 ? p.MinP : 0f;
        var kept = new List<float>();
        for (int i = 0; i < logits.Length; i++)
        {
            float w = MathF.Exp((logits[i] - maxLogit) * invTemperature);
            bool candidate = w > 0 && w >= floor;
            weights[i] = candidate ? w : 0f;
            if (candidate) kept.Add(w);
        }
        kept.Sort((a, b) => b.CompareTo(a));
        float threshold = floor;
        if (p.TopK > 0 && p.TopK < kept.Count)
        {
            threshold = MathF.Max(threshold, kept[p.TopK - 1]);
            int count = p.TopK;
            while (count < kept.Count && kept[count] >= threshold) count++;   // ties at the cut stay
            kept.RemoveRange(count, kept.Count - count);
        }
        if (p.TopP < 1f)
        {
            double total = 0;
            foreach (float w in kept) total += w;
            double limit = p.TopP * total, cumulative = 0;
            foreach (float w in kept)
            {
                cumulative += w;
                if (cumulative >= limit) { threshold = MathF.Max(threshold, w); break; }
            }
        }
        for (int i = 0; i < weights.Length; i++)
            if (weights[i] < threshold) weights[i] = 0f;
        return maxLogit;
    }

    /// <summary>The token the uniform number <paramref name="u"/> in [0, 1) picks, walking kept tokens in vocabulary order.</summary>
    public static int Draw(ReadOnlySpan<float> weights, float u)
    {
        float total = 0;
        foreach (float w in weights) total += w;
        float target = u * total, running = 0;
        int lastKept = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            lastKept = i;
            running += weights[i];
            if (target < running) return i;
        }
        return Math.Max(lastKept, 0);
    }

    /// <summary>
    /// The kept tokens a draw of <paramref name="u"/> may pick once float rounding is allowed for: those whose
    /// exact cumulative-weight interval [C(i-1), C(i)) (summed in double) comes within a tolerance of u · C(end).
    /// The tolerance bounds the error of a float sum taken in <paramref name="numChunks"/> contiguous chunks (each
    /// summed in order, then the chunk sums chained): at most (chunk length + chunks + 2) roundings of 2^-24 of the
    /// total. Over ~150K nearly equal weights that is a few indices; over a small or peaked kept set it is the one
    /// token the exact draw picks unless u falls within the tolerance of a boundary.
    /// </summary>
    public static (int First, int Last) DrawWindow(ReadOnlySpan<float> weights, float u, int numChunks = 1024)
    {
        double total = 0;
        foreach (float w in weights) total += w;
        int chunkLength = (weights.Length + numChunks - 1) / Math.Max(1, numChunks);
        double tolerance = (chunkLength + numChunks + 2) * Math.ScaleB(1.0, -24) * total;
        double target = u * total, running = 0;
        int first = -1, last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            double begin = running;
            running += weights[i];
            if (running < target - tolerance) continue;
            if (begin > target + tolerance) break;
            if (first < 0) first = i;
            last = i;
        }
        if (first < 0)
        {
            // u · total rounded to the very end: the last kept token.
            for (int i = weights.Length - 1; i >= 0 && first < 0; i--)
                if (weights[i] > 0) first = last = i;
        }
        return (first, last);
    }

    /// <summary>One row from start to end, as the GPU does it; <paramref name="logits"/> [vocab] is changed.</summary>
    public static int SampleRow(Span<float> logits, in SamplingRowParams p, ReadOnlySpan<int> tokens, ReadOnlySpan<int> outputCounts)
    {
        ApplyPenalties(logits, p, tokens, outputCounts);
        if (p.IsGreedy) return ArgMax(logits);
        float maxLogit = float.NegativeInfinity;
        foreach (float l in logits) maxLogit = MathF.Max(maxLogit, l);
        if (float.IsNegativeInfinity(maxLogit) || float.IsNaN(maxLogit)) return 0;
        var weights = new float[logits.Length];
        Filter(logits, p, weights);
        // Nothing kept (an infinite logit makes every weight 0 or NaN): the argmax, as the kernel falls back to.
        foreach (float w in weights)
            if (w > 0) return Draw(weights, p.Uniform);
        return ArgMax(logits);
    }

    /// <summary>The first index of the largest value (the CPU sampler's tie rule).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
