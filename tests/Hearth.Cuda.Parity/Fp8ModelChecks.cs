using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Core;
using Hearth.Engine;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Whole-model drift of an fp8 KV cache: the parrot's 12 conversations greedily through <see cref="EngineCore"/>
/// with a bf16 (GPU) or f32 (CPU) cache and with an fp8 one; the chosen tokens' logprobs are compared position by
/// position up to the first differing token, and the fp8 runs' agreement with response_ids is counted.
/// </summary>
internal static class Fp8ModelChecks
{
    /// <summary>e4m3 keeps 3 mantissa bits (relative error up to 1/16); logprobs moving by whole units would be a bug.</summary>
    private const double DriftTolerance = 0.5;

    public static void Run(string modelDir, IBackend cuda, ParityReport report)
    {
        using var cpu = new CpuBackend(0);
        foreach (var backend in new[] { cuda, (IBackend)cpu })
        {
            var baseline = Generate(modelDir, backend, null);
            var fp8 = Generate(modelDir, backend, DType.F8E4M3);
            var cases = ModelChecks.LoadCases(modelDir);
            double maxDrift = 0, sumDrift = 0;
            int compared = 0, sameTokens = 0, matchResponse = 0;
            foreach (var c in cases)
            {
                var (tokensA, lpA) = baseline[c.Id];
                var (tokensB, lpB) = fp8[c.Id];
                if (tokensA.SequenceEqual(tokensB)) sameTokens++;
                if (tokensB.Take(c.Response.Length).SequenceEqual(c.Response)) matchResponse++;
                for (int i = 0; i < Math.Min(tokensA.Count, tokensB.Count) && tokensA[i] == tokensB[i]; i++)
                {
                    double drift = Math.Abs(lpA[i] - lpB[i]);
                    maxDrift = Math.Max(maxDrift, drift);
                    sumDrift += drift;
                    compared++;
                }
            }
            string what = backend is CpuBackend ? "cpu f32 vs fp8 cache" : "cuda bf16 vs fp8 cache";
            report.Record(maxDrift <= DriftTolerance && compared > 0, $"model logprob drift {what}", string.Create(CultureInfo.InvariantCulture,
                $"max |dlogprob| {maxDrift:F4}, mean {sumDrift / Math.Max(1, compared):F5} over {compared} tokens; {sameTokens}/{cases.Length} greedy outputs identical; fp8 matches response_ids in {matchResponse}/{cases.Length}"));
        }
    }

    private static Dictionary<string, (List<int> Tokens, List<float> Logprobs)> Generate(string modelDir, IBackend backend, DType? kvCacheDType)
    {
        var cases = ModelChecks.LoadCases(modelDir);
        using var loaded = ModelLoader.Load(modelDir, backend, maxTokensPerStep: 512, maxLogitRows: 16);
        var options = new EngineOptions { MaxNumSeqs = 16, MaxNumBatchedTokens = 512, MaxModelLen = 2048, KvCacheDType = kvCacheDType };
        options = BackendFactory.WithKvCacheBudget(options, backend, loaded.Config, 0.5);
        using var core = new EngineCore(loaded, backend, options);
        var result = cases.ToDictionary(c => c.Id, _ => (Tokens: new List<int>(), Logprobs: new List<float>()));
        foreach (var c in cases)
        {
            core.Add(new EngineRequest
            {
                RequestId = c.Id,
                PromptTokenIds = c.Prompt,
                Sampling = new SamplingParams { Temperature = 0 },
                MaxTokens = c.Response.Length + 8,
                Logprobs = true,
            }, output =>
            {
                var r = result[output.RequestId];
                r.Tokens.AddRange(output.NewTokenIds);
                if (output.Logprobs is { } lp) r.Logprobs.AddRange(lp.Select(l => l.Logprob));
            });
        }
        while (core.Step()) { }
        Console.WriteLine($"engine on {backend.Name} with a {Hearth.Engine.Cache.KvCacheDTypes.Name(core.KvCachePlan.DType)} cache: {core.KvCachePlan.Describe()}");
        return result;
    }
}
