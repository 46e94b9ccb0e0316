using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

public class SchedulerStressTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void RandomArrivalsAbortsAndStopsKeepEveryInvariant(int seed)
    {
        var rng = new Random(seed);
        int blockSize = rng.Next(1, 9);
        var config = new SchedulerConfig
        {
            BlockSize = blockSize,
            NumBlocks = rng.Next(96 / blockSize + 2, 400 / blockSize),
            MaxNumBatchedTokens = rng.Next(4, 80),
            MaxNumSeqs = rng.Next(1, 12),
            MaxModelLen = 96,
            EnablePrefixCaching = seed % 3 != 0,
            LongPrefillTokenThreshold = seed % 2 == 0 ? rng.Next(1, 20) : 0,
        };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        int[][] prefixes = [TestRequests.RandomTokens(rng, 20), TestRequests.RandomTokens(rng, 33), []];
        var all = new List<Sequence>();
        var aborted = new HashSet<Sequence>();
        var stoppedByEngine = new HashSet<Sequence>();
        int nextId = 0;

        for (int step = 0; step < 3_000 && (step < 400 || scheduler.HasUnfinished); step++)
        {
            if (step < 400 && rng.Next(3) == 0)
            {
                int[] prompt = [.. prefixes[rng.Next(prefixes.Length)], .. TestRequests.RandomTokens(rng, rng.Next(1, 30))];
                var seq = TestRequests.Make(nextId++, prompt, rng.Next(1, 96 - prompt.Length + 1));
                scheduler.Add(seq);
                all.Add(seq);
            }
            if (all.Count > 0 && rng.Next(25) == 0)
            {
                Sequence victim = all[rng.Next(all.Count)];
                if (scheduler.Abort(victim.Id)) aborted.Add(victim);
            }
            if (all.Count > 0 && rng.Next(40) == 0)
            {
                Sequence victim = all[rng.Next(all.Count)];
                if (victim.Status == SequenceStatus.Running && scheduler.Finish(victim.Id, FinishReason.Stop)) stoppedByEngine.Add(victim);
            }
            SchedulerOutput output = model.Step(scheduler);
            Assert.True(output.NumBatchedTokens <= config.MaxNumBatchedTokens);
            Assert.True(output.NumSeqs <= config.MaxNumSeqs);
            Assert.False(output.IsEmpty && scheduler.HasUnfinished, "Stuck: nothing scheduled with requests left.");
            SchedulerInvariants.Check(scheduler, all);
        }

        Assert.False(scheduler.HasUnfinished, "Requests were still unfinished at the step limit.");
        SchedulerInvariants.CheckAllReturned(scheduler);
        foreach (var seq in all)
        {
            Assert.Equal(SequenceStatus.Finished, seq.Status);
            int[] expected = SimulatedModel.Reference(seq.PromptTokenIds, seq.MaxTokens);
            if (aborted.Contains(seq) || stoppedByEngine.Contains(seq))
            {
                Assert.Equal(expected.Take(seq.NumOutputTokens), seq.OutputTokenIds.ToArray());
            }
            else
            {
                TestRequests.AssertCorrect(seq);
            }
        }
        Assert.True(all.Count - aborted.Count > 50);
    }

    [Fact]
    public void SteadyStateStepsAllocateNothing()
    {
        var config = new SchedulerConfig { BlockSize = 4, NumBlocks = 1024, MaxNumBatchedTokens = 64, MaxNumSeqs = 16, MaxModelLen = 512 };
        var scheduler = new Scheduler(config);
        var inputs = new BatchInputs(config);
        var rng = new Random(8);
        for (int i = 0; i < 16; i++) scheduler.Add(new Sequence(i, TestRequests.RandomTokens(rng, 20 + i), 200));
        var sampled = new int[config.MaxNumSeqs];
        void Step()
        {
            SchedulerOutput output = scheduler.Schedule();
            inputs.Fill(output);
            for (int k = 0; k < inputs.NumSampled; k++) sampled[k] = inputs.TokenIds[inputs.SampleRowIndices[k]] % 400;
            scheduler.Postprocess(sampled.AsSpan(0, output.NumSampledSeqs));
        }
        for (int i = 0; i < 20; i++) Step(); // prefill and warm-up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Step(); // decodes, filling and caching a block every 4 steps
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(16, scheduler.NumRunning);
        Assert.Equal(0, allocated);
    }
}
