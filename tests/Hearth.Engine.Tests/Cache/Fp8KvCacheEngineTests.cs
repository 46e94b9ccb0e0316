using Hearth.Core;
using Hearth.Engine.Core;
using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;

namespace Hearth.Engine.Tests.Cache;

/// <summary>--kv-cache-dtype fp8 end to end on the CPU backend: the parrot still says what it was trained to say.</summary>
public class Fp8KvCacheEngineTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    [Fact]
    public void The_parrot_generates_its_responses_greedily_from_an_fp8_cache()
    {
        var options = new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 64, MaxModelLen = 1024, KvCacheDType = DType.F8E4M3 };
        using var core = new EngineCore(parrot.Model, parrot.Backend, options);
        Assert.Equal(DType.F8E4M3, core.KvCachePlan.DType);
        var cases = ParrotCase.All.Take(4).ToArray();
        var results = EngineRun.RunAll(core, cases.Select(c => new EngineRequest
        {
            RequestId = c.Id,
            PromptTokenIds = c.PromptIds,
            Sampling = new SamplingParams { Temperature = 0 },
            MaxTokens = c.ResponseIds.Length,
        }));
        foreach (var c in cases) Assert.Equal(c.ResponseIds, results[c.Id].Tokens);
    }

    [Fact]
    public void The_same_budget_holds_twice_the_tokens_in_fp8_as_in_bf16()
    {
        var bf16 = new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 256, KvCacheBytes = 4L << 20, KvCacheDType = DType.BF16 };
        using var a = new EngineCore(parrot.Model, parrot.Backend, bf16);
        using var b = new EngineCore(parrot.Model, parrot.Backend, bf16 with { KvCacheDType = DType.F8E4M3 });
        Assert.Equal(2 * a.KvCachePlan.NumTokens, b.KvCachePlan.NumTokens, 16.0);   // within one block of rounding
        Assert.Contains("fp8_e4m3", b.KvCachePlan.Describe());
    }
}
