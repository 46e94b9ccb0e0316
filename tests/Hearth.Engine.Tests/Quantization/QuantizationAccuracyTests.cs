using System.Globalization;
using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;
using Xunit.Abstractions;

namespace Hearth.Engine.Tests.Quantization;

/// <summary>
/// What quantizing costs in accuracy: KL divergence of next-token distributions against the bf16 model (a
/// random model and the parrot), and which formats still reproduce the parrot's 12 conversations greedily.
/// </summary>
public class QuantizationAccuracyTests(QuantizedModelsFixture models, ITestOutputHelper output) : IClassFixture<QuantizedModelsFixture>
{
    public static TheoryData<string> Formats() => new(QuantizedModelsFixture.Formats);

    // Upper bounds on the mean KL (nats) measured in docs/quantization.md, with headroom for other machines' rounding.
    private static readonly Dictionary<string, (double Random, double Parrot)> MaxKl = new()
    {
        ["fp8"] = (0.1, 0.001),
        ["awq-int4"] = (0.5, 0.01),
        ["gptq-int4"] = (0.5, 0.01),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Random_model_next_token_KL_against_bf16_is_small(string format)
    {
        var reference = models.Get("random", "bf16");
        var quantized = models.Get("random", format);
        var random = new Random(17);
        var ids = Enumerable.Range(0, 48).Select(_ => random.Next(reference.Config.VocabSize)).ToArray();
        var (kl, agreement) = NextTokenKl.Measure(reference, quantized, models.Backend, ids, firstPosition: 0);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"random {format}: mean KL {kl:G3} nats, top-1 agreement {agreement:P1}"));
        Assert.True(kl > 0, "a quantized model cannot match bf16 exactly; KL 0 means the bf16 weights were used");
        Assert.True(kl < MaxKl[format].Random, $"mean KL {kl} above {MaxKl[format].Random}");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Parrot_next_token_KL_against_bf16_is_small(string format)
    {
        var reference = models.Get("parrot", "bf16");
        var quantized = models.Get("parrot", format);
        double total = 0, agreement = 0;
        foreach (var c in ParrotCase.All)
        {
            var ids = c.PromptIds.Concat(c.ResponseIds[..^1]).ToArray();
            var (kl, agree) = NextTokenKl.Measure(reference, quantized, models.Backend, ids, firstPosition: c.PromptIds.Length - 1);
            total += kl;
            agreement += agree;
        }
        double mean = total / ParrotCase.All.Count;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"parrot {format}: mean KL {mean:G3} nats over response positions, top-1 agreement {agreement / ParrotCase.All.Count:P1}"));
        Assert.True(mean > 0);
        Assert.True(mean < MaxKl[format].Parrot, $"mean KL {mean} above {MaxKl[format].Parrot}");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Parrot_cases_reproduced_after_quantizing(string format)
    {
        var model = models.Get("parrot", format);
        var failed = new List<string>();
        foreach (var c in ParrotCase.All)
        {
            var result = EngineRun.RunOne(model, models.Backend, new EngineRequest
            {
                RequestId = c.Id,
                PromptTokenIds = c.PromptIds,
                Sampling = new SamplingParams { Temperature = 0 },
                MaxTokens = c.ResponseIds.Length + 8,
            });
            if (!result.Tokens.SequenceEqual(c.ResponseIds)) failed.Add(c.Id);
        }
        output.WriteLine($"parrot {format}: {ParrotCase.All.Count - failed.Count}/{ParrotCase.All.Count} cases reproduced" +
            (failed.Count > 0 ? "; differs on " + string.Join(", ", failed) : ""));
        Assert.Empty(failed);
    }
}
