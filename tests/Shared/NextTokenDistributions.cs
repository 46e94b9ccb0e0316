namespace Hearth.Testing;

/// <summary>Comparisons of next-token distributions given as raw logits: the quantization tests' and the GPU parity runner's.</summary>
internal static class NextTokenDistributions
{
    /// <summary>KL(softmax(p) ‖ softmax(q)) in nats, in double precision.</summary>
    public static double Kl(float[] p, float[] q)
    {
        double[] lp = LogSoftmax(p), lq = LogSoftmax(q);
        double kl = 0;
        for (int i = 0; i < lp.Length; i++) kl += Math.Exp(lp[i]) * (lp[i] - lq[i]);
        return Math.Max(kl, 0);
    }

    /// <summary>The first index of the largest logit.</summary>
    public static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static double[] LogSoftmax(float[] logits)
    {
        double max = logits.Max(), sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        double log = max + Math.Log(sum);
        return logits.Select(l => l - log).ToArray();
    }
}
