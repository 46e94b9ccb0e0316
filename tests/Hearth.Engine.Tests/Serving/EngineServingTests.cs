using Hearth.Engine.Core;
using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;

namespace Hearth.Engine.Tests.Serving;

/// <summary>Continuous batching, prefix caching and preemption on the parrot model, checked against single runs.</summary>
public class EngineServingTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    private static EngineRequest Greedy(string id, int[] prompt, int maxTokens) => new()
    {
        RequestId = id,
        PromptTokenIds = prompt,
        Sampling = new SamplingParams { Temperature = 0 },
        MaxTokens = maxTokens,
    };

    /// <summary>32 requests cycling through the 12 parrot cases.</summary>
    private static List<(EngineRequest Request, ParrotCase Case)> ThirtyTwoRequests() =>
        Enumerable.Range(0, 32).Select(i =>
        {
            var c = ParrotCase.All[i % ParrotCase.All.Count];
            return (Greedy($"r{i}", c.PromptIds, c.ResponseIds.Length + 4), c);
        }).ToList();

    [Fact]
    public void Thirty_two_concurrent_requests_give_the_same_greedy_output_as_alone()
    {
        var requests = ThirtyTwoRequests();
        using var core = new EngineCore(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 32, MaxNumBatchedTokens = 64 });
        var results = EngineRun.RunAll(core, requests.Select(r => r.Request));
        foreach (var (request, c) in requests)
        {
            Assert.Equal(c.ResponseIds, results[request.RequestId].Tokens);
            Assert.Equal(c.ResponseText, results[request.RequestId].Text);
        }
        Assert.Equal(core.Blocks.NumBlocks, core.Blocks.NumFreeBlocks);
    }

    [Fact]
    public void Prefix_cache_hits_reuse_blocks_and_keep_the_output()
    {
        // The multi-turn prompt is long enough for whole shared blocks.
        var c = ParrotCase.All.OrderByDescending(x => x.PromptIds.Length).First();
        using var core = new EngineCore(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 64 });
        var first = EngineRun.RunAll(core, [Greedy("a", c.PromptIds, c.ResponseIds.Length + 4)])["a"];
        var second = EngineRun.RunAll(core, [Greedy("b", c.PromptIds, c.ResponseIds.Length + 4)])["b"];
        Assert.Equal(c.ResponseIds, first.Tokens);
        Assert.Equal(c.ResponseIds, second.Tokens);
        Assert.Equal(0, first.Outputs.Last().Usage.CachedPromptTokens);
        int cached = second.Outputs.Last().Usage.CachedPromptTokens;
        Assert.True(cached >= 16, $"expected a prefix-cache hit, got {cached} cached tokens");
        Assert.True(cached <= c.PromptIds.Length - 1, "the last prompt token must be recomputed");
        Assert.Equal(core.Blocks.NumBlocks, core.Blocks.NumFreeBlocks);
    }

    [Fact]
    public void A_tiny_kv_pool_forces_preemption_and_every_request_still_completes_correctly()
    {
        var requests = ThirtyTwoRequests();
        long bytesPerBlock = Runner.PagedKvCache.BlockSizeBytes(parrot.Model.Config, parrot.Backend.ActivationDType, 16);
        int longest = requests.Max(r => r.Case.PromptIds.Length + r.Case.ResponseIds.Length + 4);
        int blocks = (longest + 15) / 16 + 2;
        using var core = new EngineCore(parrot.Model, parrot.Backend,
            new EngineOptions { MaxNumSeqs = 16, MaxNumBatchedTokens = 64, KvCacheBytes = blocks * bytesPerBlock, EnablePrefixCaching = false });
        var results = EngineRun.RunAll(core, requests.Select(r => r.Request));
        foreach (var (request, c) in requests) Assert.Equal(c.ResponseIds, results[request.RequestId].Tokens);
        Assert.True(core.GetStats(true).NumPreemptions > 0, "the pool was meant to be too small to avoid preemption");
        Assert.Equal(core.Blocks.NumBlocks, core.Blocks.NumFreeBlocks);
    }

    [Fact]
    public void A_request_that_can_never_fit_is_rejected_at_admission()
    {
        using var core = new EngineCore(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 2, MaxNumBatchedTokens = 64, MaxModelLen = 64 });
        var error = Assert.Throws<RequestRejectedException>(() => core.Add(Greedy("x", [.. Enumerable.Repeat(9707, 60)], 10), _ => { }));
        Assert.Contains("64", error.Message);
        Assert.Contains("60", error.Message);
    }

    [Fact]
    public void Abort_mid_prefill_and_mid_decode_frees_the_blocks_at_once()
    {
        var c = ParrotCase.Get("poem");
        // A step of 8 tokens makes the prompt take several steps, so the first step is mid-prefill.
        using var core = new EngineCore(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 2, MaxNumBatchedTokens = 8 });
        var outputs = new List<EngineOutput>();
        core.Add(Greedy("prefill", c.PromptIds, 50), outputs.Add);
        core.Step();
        Assert.True(core.Blocks.NumFreeBlocks < core.Blocks.NumBlocks);
        Assert.Empty(outputs);
        Assert.True(core.Abort("prefill"));
        Assert.Equal(core.Blocks.NumBlocks, core.Blocks.NumFreeBlocks);
        Assert.Equal("abort", outputs.Single().FinishReason);

        outputs.Clear();
        core.Add(Greedy("decode", c.PromptIds, 50), outputs.Add);
        while (outputs.Count < 3) core.Step();
        Assert.True(core.Abort("decode"));
        Assert.Equal(core.Blocks.NumBlocks, core.Blocks.NumFreeBlocks);
        Assert.Equal("abort", outputs.Last().FinishReason);
        Assert.False(core.Step());
    }
}
