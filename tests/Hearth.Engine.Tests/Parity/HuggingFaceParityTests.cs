using Hearth.Backends.Cpu;
using Hearth.Engine.Core;
using Hearth.Engine.Generation;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;
using Hearth.Models.Synthetic;
using Hearth.Models.Tests.Synthetic;

namespace Hearth.Engine.Tests.Parity;

/// <summary>
/// The CPU forward pass against HF transformers (float32, random bf16-valued weights) on four Qwen3 shapes:
/// tied/untied, GQA 1/4/8, head_dim ≠ hidden/heads, YaRN. Logprobs within 1e-3, greedy continuations equal.
/// </summary>
public class HuggingFaceParityTests
{
    private const double Tolerance = 1e-3;

    public static TheoryData<string> Shapes() => new(SyntheticModels.Parity.Select(s => s.Name));

    private static string ModelFolder(SyntheticModelShape shape) => SyntheticCheckpoint.Cached(shape);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Prompt_logprobs_match_transformers_at_every_position(string name)
    {
        var shape = SyntheticModels.Find(name) ?? throw new InvalidOperationException($"no synthetic model named {name}");
        var golden = ParityGolden.Load(name);
        using var backend = new CpuBackend();
        using var model = ModelLoader.Load(ModelFolder(shape), backend, maxTokensPerStep: 32, maxLogitRows: 32);
        using var scorer = new PromptScorer(backend, model.Model, maxContextTokens: 128);
        foreach (var prompt in golden.Prompts)
        {
            double worst = 0;
            scorer.ForEachLogitRow(prompt.PromptIds, (position, logits) =>
            {
                double lse = LogSumExp(logits);
                var expected = prompt.PromptTop[position];
                for (int j = 0; j < expected.Ids.Length; j++)
                    worst = Math.Max(worst, Math.Abs(logits[expected.Ids[j]] - lse - expected.Logprobs[j]));
            });
            Assert.True(worst < Tolerance, $"{name}/{prompt.Slot}: largest logprob difference {worst:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Greedy_continuations_equal_transformers(string name)
    {
        var shape = SyntheticModels.Find(name) ?? throw new InvalidOperationException($"no synthetic model named {name}");
        var golden = ParityGolden.Load(name);
        using var backend = new CpuBackend();
        using var model = ModelLoader.Load(ModelFolder(shape), backend, maxTokensPerStep: 32, maxLogitRows: 4);
        using var core = new EngineCore(model, backend, new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 32, MaxModelLen = 128 });
        var outputs = golden.Prompts.ToDictionary(p => p.Slot, _ => new List<EngineOutput>());
        foreach (var prompt in golden.Prompts)
        {
            core.Add(new EngineRequest
            {
                RequestId = prompt.Slot,
                PromptTokenIds = prompt.PromptIds,
                Sampling = new SamplingParams { Temperature = 0, TopLogprobs = 5 },
                MaxTokens = prompt.GreedyIds.Length,
                IgnoreEos = true,
                Logprobs = true,
            }, outputs[prompt.Slot].Add);
        }
        while (core.Step()) { }
        foreach (var prompt in golden.Prompts)
        {
            var steps = outputs[prompt.Slot].SelectMany(o => o.Logprobs!).ToList();
            Assert.Equal(prompt.GreedyIds, steps.Select(s => s.TokenId));
            for (int i = 0; i < steps.Count; i++)
            {
                Assert.True(Math.Abs(steps[i].Logprob - prompt.GreedyTop[i].Logprobs[0]) < Tolerance,
                    $"{name}/{prompt.Slot} step {i}: logprob {steps[i].Logprob} vs {prompt.GreedyTop[i].Logprobs[0]}");
            }
        }
    }

    private static double LogSumExp(ReadOnlySpan<float> values)
    {
        double max = double.NegativeInfinity;
        foreach (float v in values) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
