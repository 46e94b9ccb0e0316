using Hearth.Testing;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Engine.Generation;
using Hearth.Engine.Loading;

namespace Hearth.Cuda.Parity;

/// <summary>
/// A whole quantized model on CUDA against (a) the CPU backend running the same quantized checkpoint and (b) the
/// bf16 model it was quantized from, on CUDA: KL of the next-token distributions over every response position of
/// the parrot's cases, and top-1 agreement.
/// </summary>
internal static class QuantModelChecks
{
    /// <summary>CUDA vs CPU on the same weights: only bf16 activations and kernel order differ.</summary>
    private const double MaxKlVsCpu = 0.01;

    /// <summary>The CPU measured 1.1e-4 (int4) and 3e-6 (fp8) on the parrot against bf16 (docs/quantization.md).</summary>
    private const double MaxKlVsBf16 = 0.02;

    public static void Run(string bf16Dir, string quantDir, IBackend cuda, ParityReport report)
    {
        string name = Path.GetFileName(quantDir.TrimEnd('/'));
        try
        {
            var cases = ModelChecks.LoadCases(bf16Dir);
            using var cpu = new CpuBackend();
            using var reference = ModelLoader.Load(bf16Dir, cuda, maxTokensPerStep: 512, maxLogitRows: 512);
            using var onCuda = ModelLoader.Load(quantDir, cuda, maxTokensPerStep: 512, maxLogitRows: 512);
            using var onCpu = ModelLoader.Load(quantDir, cpu, maxTokensPerStep: 512, maxLogitRows: 512);
            double klCpu = 0, klBf16 = 0;
            int rows = 0, agreeCpu = 0, agreeBf16 = 0;
            foreach (var c in cases)
            {
                int[] ids = [.. c.Prompt, .. c.Response];
                var expectedBf16 = Logits(reference, cuda, ids, c.Prompt.Length - 1);
                var quantCuda = Logits(onCuda, cuda, ids, c.Prompt.Length - 1);
                var quantCpu = Logits(onCpu, cpu, ids, c.Prompt.Length - 1);
                for (int r = 0; r < quantCuda.Count; r++)
                {
                    klCpu += NextTokenDistributions.Kl(quantCpu[r], quantCuda[r]);
                    klBf16 += NextTokenDistributions.Kl(expectedBf16[r], quantCuda[r]);
                    if (NextTokenDistributions.ArgMax(quantCpu[r]) == NextTokenDistributions.ArgMax(quantCuda[r])) agreeCpu++;
                    if (NextTokenDistributions.ArgMax(expectedBf16[r]) == NextTokenDistributions.ArgMax(quantCuda[r])) agreeBf16++;
                    rows++;
                }
            }
            klCpu /= rows;
            klBf16 /= rows;
            report.Record(klCpu <= MaxKlVsCpu, $"quantized model {name}: cuda vs cpu (same weights)",
                string.Create(CultureInfo.InvariantCulture, $"mean KL {klCpu:G3} nats over {rows} positions, top-1 agreement {100.0 * agreeCpu / rows:F1} %"));
            report.Record(klBf16 <= MaxKlVsBf16, $"quantized model {name}: cuda vs its bf16 model",
                string.Create(CultureInfo.InvariantCulture, $"mean KL {klBf16:G3} nats over {rows} positions, top-1 agreement {100.0 * agreeBf16 / rows:F1} %"));
        }
        catch (Exception e) when (e is Hearth.Core.HearthException or ArgumentException or IOException)
        {
            report.Fail($"quantized model {name}", e);
        }
    }

    private static List<float[]> Logits(LoadedModel model, IBackend backend, int[] ids, int firstPosition)
    {
        using var scorer = new PromptScorer(backend, model.Model, ids.Length + 1);
        var rows = new List<float[]>();
        scorer.ForEachLogitRow(ids, (position, logits) =>
        {
            if (position >= firstPosition && position < ids.Length - 1) rows.Add(logits.ToArray());
        });
        return rows;
    }
}
