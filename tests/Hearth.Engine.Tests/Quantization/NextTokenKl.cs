using Hearth.Testing;
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
            total += NextTokenDistributions.Kl(referenceRows[r], quantizedRows[r]);
            if (NextTokenDistributions.ArgMax(referenceRows[r]) == NextTokenDistributions.ArgMax(quantizedRows[r])) agree++;
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
}
