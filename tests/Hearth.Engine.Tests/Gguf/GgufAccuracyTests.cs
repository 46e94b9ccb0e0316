using Hearth.Backends.Cpu;
using Hearth.Engine.Generation;
using Hearth.Engine.Loading;
using Hearth.Engine.Tests.Generation;
using Hearth.Models.Gguf;
using Hearth.Testing;
using Xunit.Abstractions;

namespace Hearth.Engine.Tests.Gguf;

/// <summary>
/// KL divergence of next-token distributions, bf16 model → its GGUF quantization, at every position of a prompt.
/// Bounds sit a few times above the measured values (docs/gguf.md), so a broken block layout or kernel fails.
/// Prompts are scored 4 tokens per step, so the GGUF kernels run as in decode (int8-quantized inputs); batches of
/// 8+ rows would take the chunk-dequantizing path instead.
/// </summary>
public sealed class GgufAccuracyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(nameof(GgufFileType.Q8_0), 1e-3)]
    [InlineData(nameof(GgufFileType.Q4_K_M), 0.04)]
    public void Parrot_kl_divergence_against_bf16_is_small(string fileType, double maxMeanKl)
    {
        // A conversation and its trained answer: the positions where the parrot's predictions are sharp.
        var poem = ParrotCase.Get("poem");
        var ids = poem.PromptIds.Concat(poem.ResponseIds).Take(400).ToArray();
        var (mean, max) = Kl(RepoPaths.Parrot, GgufModelFiles.Parrot(Enum.Parse<GgufFileType>(fileType)), ids);
        output.WriteLine($"parrot {fileType}: mean KL {mean:E3}, max {max:E3} over {ids.Length} positions");
        Assert.InRange(mean, 1e-9, maxMeanKl);
    }

    [Theory]
    [InlineData(nameof(GgufFileType.Q8_0), 0.006)]
    [InlineData(nameof(GgufFileType.Q4_K_M), 0.4)]
    public void Random_model_kl_divergence_against_bf16_is_small(string fileType, double maxMeanKl)
    {
        var random = new Random(3);
        var ids = Enumerable.Range(0, 96).Select(_ => random.Next(GgufModelFiles.RandomShape.VocabSize)).ToArray();
        var (mean, max) = Kl(GgufModelFiles.RandomModelFolder, GgufModelFiles.RandomModel(Enum.Parse<GgufFileType>(fileType)), ids);
        output.WriteLine($"random {fileType}: mean KL {mean:E3}, max {max:E3} over {ids.Length} positions");
        Assert.InRange(mean, 1e-9, maxMeanKl);
    }

    private static (double Mean, double Max) Kl(string reference, string quantized, int[] ids)
    {
        var p = LogSoftmaxRows(reference, ids);
        var q = LogSoftmaxRows(quantized, ids);
        double sum = 0, max = 0;
        for (int r = 0; r < ids.Length; r++)
        {
            double kl = 0;
            for (int v = 0; v < p[r].Length; v++) kl += Math.Exp(p[r][v]) * (p[r][v] - q[r][v]);
            sum += kl;
            max = Math.Max(max, kl);
        }
        return (sum / ids.Length, max);
    }

    private static double[][] LogSoftmaxRows(string model, int[] ids)
    {
        using var backend = new CpuBackend();
        using var loaded = ModelLoader.Load(model, backend, maxTokensPerStep: 4, maxLogitRows: 4);
        using var scorer = new PromptScorer(backend, loaded.Model, maxContextTokens: 512);
        var rows = new double[ids.Length][];
        scorer.ForEachLogitRow(ids, (position, logits) =>
        {
            double max = double.NegativeInfinity;
            foreach (float l in logits) max = Math.Max(max, l);
            double sum = 0;
            foreach (float l in logits) sum += Math.Exp(l - max);
            double logSum = max + Math.Log(sum);
            var row = new double[logits.Length];
            for (int v = 0; v < row.Length; v++) row[v] = logits[v] - logSum;
            rows[position] = row;
        });
        return rows;
    }
}
