using Hearth.Engine.Generation;
using Hearth.Engine.Loading;

namespace Hearth.Engine.Tests.Quantization;

/// <summary>KL(P_reference ‖ P_quantized) of next-token distributions, averaged over chosen positions.</summary>
internal static class NextTokenKl
{
    /// <summary>Mean KL over the positions from <paramref name="firstPosition"/> on, and how often the argmax agrees.</summary>
    public static (double MeanKl, double Top1Agreement) Measure(LoadedModel reference, LoadedModel quantized,
        Hearth.Backends.IBackend backend, int[] ids, int firstPosition)
    {
        var referenceRows = Logits(reference, backend, ids, firstPosition);
        var quantizedRows = Logits(quantized, backend, ids, firstPosition);
        double total = 0;
        int agree = 0;
        for (int r = 0; r < referenceRows.Count; r++)
        {
            total += Kl(referenceRows[r], quantizedRows[r]);
            if (ArgMax(referenceRows[r]) == ArgMax(quantizedRows[r])) agree++;
        }
        return (total / referenceRows.Count, (double)agree / referenceRows.Count);
    }

    private static List<float[]> Logits(LoadedModel model, Hearth.Backends.IBackend backend, int[] ids, int firstPosition)
    {
        using var scorer = new PromptScorer(backend, model.Model, ids.Length + 1);
        var rows = new List<float[]>();
        scorer.ForEachLogitRow(ids, (position, logits) =>
        {
            if (position >= firstPosition) rows.Add(logits.ToArray());
        });
        return rows;
    }

    public static double Kl(float[] p, float[] q)
    {
        double[] lp = LogSoftmax(p), lq = LogSoftmax(q);
        double kl = 0;
        for (int i = 0; i < lp.Length; i++) kl += Math.Exp(lp[i]) * (lp[i] - lq[i]);
        return Math.Max(kl, 0);
    }

    private static double[] LogSoftmax(float[] logits)
    {
        double max = logits.Max(), sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        double log = max + Math.Log(sum);
        return logits.Select(l => l - log).ToArray();
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
