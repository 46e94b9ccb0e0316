using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;

namespace Hearth.Engine.Tests.Serving;

/// <summary>The threaded engine: concurrent streams, cancellation, overload and usage.</summary>
public class LlmEngineTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    private static EngineRequest Greedy(string id, int[] prompt, int maxTokens) => new()
    {
        RequestId = id,
        PromptTokenIds = prompt,
        Sampling = new SamplingParams { Temperature = 0 },
        MaxTokens = maxTokens,
    };

    private static async Task<List<EngineOutput>> Collect(IAsyncEnumerable<EngineOutput> stream, CancellationToken ct = default)
    {
        var list = new List<EngineOutput>();
        await foreach (var output in stream.WithCancellation(ct)) list.Add(output);
        return list;
    }

    [Fact]
    public async Task Concurrent_streams_each_get_their_own_exact_output_and_usage()
    {
        await using var engine = LlmEngine.Start(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 16, MaxNumBatchedTokens = 64 });
        var tasks = Enumerable.Range(0, 24).Select(i =>
        {
            var c = ParrotCase.All[i % ParrotCase.All.Count];
            return (c, Task.Run(() => Collect(engine.GenerateAsync(Greedy($"q{i}", c.PromptIds, c.ResponseIds.Length + 4)))));
        }).ToList();
        foreach (var (c, task) in tasks)
        {
            var outputs = await task;
            Assert.Equal(c.ResponseIds, outputs.SelectMany(o => o.NewTokenIds));
            Assert.Equal(c.ResponseText, string.Concat(outputs.Select(o => o.TextDelta)));
            var usage = outputs.Last().Usage;
            Assert.Equal(c.PromptIds.Length, usage.PromptTokens);
            Assert.Equal(c.ResponseIds.Length, usage.CompletionTokens);
            Assert.Equal("stop", outputs.Last().FinishReason);
        }
        var stats = engine.GetStats();
        Assert.True(stats.IsAlive);
        Assert.Equal(stats.NumTotalBlocks, stats.NumFreeBlocks);
    }

    [Fact]
    public async Task Cancelling_a_stream_aborts_the_request_and_frees_its_blocks()
    {
        var c = ParrotCase.Get("poem");
        await using var engine = LlmEngine.Start(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 64 });
        using var cts = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var output in engine.GenerateAsync(Greedy("c", c.PromptIds, 60), cts.Token).WithCancellation(cts.Token))
                if (++received == 3) cts.Cancel();
        });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (engine.GetStats().NumFreeBlocks != engine.GetStats().NumTotalBlocks && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(engine.GetStats().NumTotalBlocks, engine.GetStats().NumFreeBlocks);
        Assert.Equal(0, engine.GetStats().NumRunning);
    }

    [Fact]
    public async Task Cancelling_stops_the_stream_even_when_the_engine_has_already_produced_everything()
    {
        var c = ParrotCase.Get("poem");
        await using var engine = LlmEngine.Start(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 64 });
        using var cts = new CancellationTokenSource();
        var stream = engine.GenerateAsync(Greedy("c", c.PromptIds, 40), cts.Token);
        // Every output is buffered before the consumer reads one (the case a slow client or a loaded machine makes).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        static bool Done(EngineStats s) => s.NumGenerationTokens > 0 && s.NumRunning == 0 && s.NumWaiting == 0;
        while (!Done(engine.GetStats()) && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.True(Done(engine.GetStats()), "the request did not finish in 30 s");
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var output in stream)
                if (++received == 3) cts.Cancel();
        });
        Assert.Equal(3, received);
    }

    [Fact]
    public async Task A_full_queue_refuses_new_requests_instead_of_growing()
    {
        var c = ParrotCase.Get("poem");
        await using var engine = LlmEngine.Start(parrot.Model, parrot.Backend, new EngineOptions { MaxNumSeqs = 1, MaxQueue = 1, MaxNumBatchedTokens = 64 });
        var first = engine.GenerateAsync(Greedy("1", c.PromptIds, 40));
        var second = engine.GenerateAsync(Greedy("2", c.PromptIds, 40));
        Assert.Throws<EngineOverloadedException>(() => engine.GenerateAsync(Greedy("3", c.PromptIds, 40)));
        await Collect(first);
        await Collect(second);
        // Capacity comes back once requests finish.
        var third = await Collect(engine.GenerateAsync(Greedy("4", c.PromptIds, 3)));
        Assert.Equal("length", third.Last().FinishReason);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_rejected_at_once_with_both_counts()
    {
        using var engineHolder = new EngineHolder(LlmEngine.Start(parrot.Model, parrot.Backend, new EngineOptions { MaxModelLen = 32, MaxNumSeqs = 2, MaxNumBatchedTokens = 64 }));
        var error = Assert.Throws<RequestRejectedException>(() => engineHolder.Engine.GenerateAsync(Greedy("long", [.. Enumerable.Repeat(9707, 40)], 4)));
        Assert.Contains("40", error.Message);
        Assert.Contains("32", error.Message);
    }

    private sealed class EngineHolder(LlmEngine engine) : IDisposable
    {
        public LlmEngine Engine => engine;

        public void Dispose() => engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
