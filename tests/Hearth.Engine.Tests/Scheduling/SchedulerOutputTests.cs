using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

public class SchedulerOutputTests
{
    [Fact]
    public void EachOutputAloneEqualsItsOutputAmong32ConcurrentRequests()
    {
        var config = new SchedulerConfig { NumBlocks = 400, MaxNumBatchedTokens = 256, MaxNumSeqs = 32, MaxModelLen = 512 };
        var rng = new Random(7);
        var prompts = Enumerable.Range(0, 32).Select(_ => TestRequests.RandomTokens(rng, rng.Next(1, 120))).ToArray();
        var maxTokens = prompts.Select(_ => rng.Next(1, 60)).ToArray();

        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var seqs = prompts.Select((p, i) => TestRequests.Make(i, p, maxTokens[i])).ToArray();
        foreach (var seq in seqs) scheduler.Add(seq);
        int maxBatched = 0;
        model.RunToCompletion(scheduler, 5_000, output =>
        {
            maxBatched = Math.Max(maxBatched, output.NumSeqs);
            SchedulerInvariants.Check(scheduler, seqs);
        });

        Assert.True(maxBatched >= 16, $"At most {maxBatched} requests ran together; the test meant to batch them.");
        for (int i = 0; i < seqs.Length; i++)
        {
            TestRequests.AssertCorrect(seqs[i]);
            Assert.Equal(TestRequests.RunAlone(config, prompts[i], maxTokens[i]), seqs[i].OutputTokenIds.ToArray());
        }
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void SharedPrefixesHitTheCacheShareBlocksAndKeepOutputs()
    {
        var config = new SchedulerConfig { NumBlocks = 200, MaxNumBatchedTokens = 512, MaxNumSeqs = 16, MaxModelLen = 256 };
        var rng = new Random(11);
        int[] systemPrompt = TestRequests.RandomTokens(rng, 70); // 4 full blocks + 6 tokens
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);

        // The first request fills the cache; the rest arrive while it still decodes.
        var first = TestRequests.Make(0, [.. systemPrompt, .. TestRequests.RandomTokens(rng, 5)], 30);
        scheduler.Add(first);
        model.Step(scheduler);
        model.Step(scheduler);
        var others = Enumerable.Range(1, 12)
            .Select(i => TestRequests.Make(i, [.. systemPrompt, .. TestRequests.RandomTokens(rng, rng.Next(1, 20))], 20))
            .ToArray();
        foreach (var seq in others) scheduler.Add(seq);
        var all = others.Append(first).ToArray();
        SchedulerOutput output = model.Step(scheduler);
        SchedulerInvariants.Check(scheduler, all);

        // Every newcomer starts from the 4 cached blocks and holds the very same physical blocks as the first.
        Assert.Equal(1 + others.Length, output.NumSeqs);
        foreach (var seq in others)
        {
            Assert.Equal(64, seq.NumCachedPromptTokens);
            Assert.Equal(first.BlockTable.Take(4), seq.BlockTable.Take(4));
        }
        Assert.Equal(1 + others.Length, scheduler.BlockManager.GetRefCount(first.BlockTable[0]));
        Assert.Contains(output.Scheduled, s => s.Sequence == others[0] && s.StartPosition == 64);

        model.RunToCompletion(scheduler, 1_000, _ => SchedulerInvariants.Check(scheduler, all));
        Assert.Equal(0, first.NumCachedPromptTokens);
        foreach (var seq in all) TestRequests.AssertCorrect(seq);
        Assert.Equal(4 * others.Length, scheduler.BlockManager.NumHitBlocks);
        SchedulerInvariants.CheckAllReturned(scheduler);

        // Freed blocks keep their contents: the same prompt later is served from the cache again.
        var again = TestRequests.Make(99, others[3].PromptTokenIds.ToArray(), 20);
        scheduler.Add(again);
        model.RunToCompletion(scheduler, 100);
        Assert.Equal(16 * ((others[3].NumPromptTokens - 1) / 16), again.NumCachedPromptTokens);
        Assert.Equal(others[3].OutputTokenIds.ToArray(), again.OutputTokenIds.ToArray());
    }

    [Fact]
    public void TinyPoolPreemptsAndEveryRequestStillCompletesCorrectly()
    {
        var config = new SchedulerConfig { BlockSize = 4, NumBlocks = 24, MaxNumBatchedTokens = 64, MaxNumSeqs = 8, MaxModelLen = 96 };
        var rng = new Random(3);
        var seqs = Enumerable.Range(0, 10)
            .Select(i => new Sequence(i, TestRequests.RandomTokens(rng, rng.Next(4, 30)), rng.Next(30, 60)))
            .ToArray();
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        foreach (var seq in seqs) scheduler.Add(seq);
        int stepsWithPreemption = 0;
        var runningBefore = new HashSet<Sequence>();
        model.RunToCompletion(scheduler, 5_000, output =>
        {
            if (output.Preempted.Count > 0)
            {
                stepsWithPreemption++;
                // A short pool admits nobody new in the same step.
                Assert.All(output.Scheduled, s => Assert.Contains(s.Sequence, runningBefore));
            }
            runningBefore = scheduler.Running.ToHashSet();
            foreach (var p in output.Preempted)
            {
                Assert.Equal(SequenceStatus.Waiting, p.Status);
                Assert.Equal(p, scheduler.Waiting.First(s => s.Status == SequenceStatus.Waiting && s.NumPreemptions > 0 && s == p));
            }
            SchedulerInvariants.Check(scheduler, seqs);
        });

        Assert.True(scheduler.NumPreemptions > 0, "The pool was meant to be too small to run all requests at once.");
        Assert.True(stepsWithPreemption > 0);
        foreach (var seq in seqs)
        {
            // No eos in the list: every request runs to max_tokens, so the longest contexts overflow the pool.
            Assert.Equal(SimulatedModel.Reference(seq.PromptTokenIds, seq.MaxTokens, stopAtEos: false), seq.OutputTokenIds.ToArray());
            Assert.Equal(FinishReason.Length, seq.FinishReason);
        }
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void TheLastAdmittedRequestPreemptsItselfWhenItCannotGrow()
    {
        var config = new SchedulerConfig { BlockSize = 4, NumBlocks = 3, MaxNumBatchedTokens = 64, MaxNumSeqs = 4, MaxModelLen = 16 };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var a = new Sequence(1, [1, 2, 3, 4], 8);
        var b = new Sequence(2, [5, 6, 7, 8], 8);
        scheduler.Add(a);
        scheduler.Add(b);
        Assert.Equal(2, model.Step(scheduler).NumSeqs); // both prompts fill one block each

        // Each now needs a second block but only one is left: a takes it, b gives up its own.
        SchedulerOutput output = model.Step(scheduler);
        Assert.Equal([a], output.Scheduled.Select(s => s.Sequence));
        Assert.Equal([b], output.Preempted);
        Assert.Equal(SequenceStatus.Waiting, b.Status);
        Assert.Equal(0, b.NumComputedTokens);
        Assert.Equal(1, b.NumOutputTokens);
        Assert.Equal(b, scheduler.Waiting.First());

        model.RunToCompletion(scheduler, 100, _ => SchedulerInvariants.Check(scheduler, [a, b]));
        Assert.Equal(SimulatedModel.Reference(a.PromptTokenIds, 8, stopAtEos: false), a.OutputTokenIds.ToArray());
        Assert.Equal(SimulatedModel.Reference(b.PromptTokenIds, 8, stopAtEos: false), b.OutputTokenIds.ToArray());
        Assert.Equal(1, b.NumPreemptions);
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void LongPromptIsPrefilledInChunksWhileDecodesContinue()
    {
        var config = new SchedulerConfig { BlockSize = 8, NumBlocks = 64, MaxNumBatchedTokens = 32, MaxNumSeqs = 8, MaxModelLen = 256 };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var rng = new Random(5);
        var decoder = new Sequence(1, TestRequests.RandomTokens(rng, 10), 40);
        scheduler.Add(decoder);
        model.Step(scheduler);
        var longOne = new Sequence(2, TestRequests.RandomTokens(rng, 150), 5);
        scheduler.Add(longOne);

        var chunks = new List<ScheduledSequence>();
        while (longOne.NumOutputTokens == 0)
        {
            SchedulerOutput output = model.Step(scheduler);
            Assert.Equal(2, output.NumSeqs);
            Assert.Equal(decoder, output.Scheduled[0].Sequence);
            Assert.Equal(1, output.Scheduled[0].NumNewTokens);
            Assert.True(output.Scheduled[0].SamplesToken);
            ScheduledSequence chunk = output.Scheduled[1];
            Assert.Equal(longOne, chunk.Sequence);
            chunks.Add(chunk);
            Assert.Equal(1 + chunk.NumNewTokens, output.NumBatchedTokens);
            Assert.True(output.NumBatchedTokens == 32 || chunk.SamplesToken, "A prompt chunk must use the whole budget unless it is the last.");
        }

        // 150 prompt tokens at 31 per step: 5 chunks, contiguous, and only the last one samples.
        Assert.Equal([31, 31, 31, 31, 26], chunks.Select(c => c.NumNewTokens));
        Assert.Equal([0, 31, 62, 93, 124], chunks.Select(c => c.StartPosition));
        Assert.Equal([false, false, false, false, true], chunks.Select(c => c.SamplesToken));
        Assert.Equal(6, decoder.NumOutputTokens);

        model.RunToCompletion(scheduler, 100);
        Assert.Equal(SimulatedModel.Reference(decoder.PromptTokenIds, 40, stopAtEos: false), decoder.OutputTokenIds.ToArray());
        Assert.Equal(SimulatedModel.Reference(longOne.PromptTokenIds, 5, stopAtEos: false), longOne.OutputTokenIds.ToArray());
    }

    [Fact]
    public void LongPrefillThresholdCapsOnePromptPerStep()
    {
        var config = new SchedulerConfig { BlockSize = 8, NumBlocks = 64, MaxNumBatchedTokens = 100, MaxNumSeqs = 8, MaxModelLen = 256, LongPrefillTokenThreshold = 40 };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var rng = new Random(9);
        var big = new Sequence(1, TestRequests.RandomTokens(rng, 90), 3);
        var small = new Sequence(2, TestRequests.RandomTokens(rng, 12), 3);
        scheduler.Add(big);
        scheduler.Add(small);
        SchedulerOutput output = model.Step(scheduler);
        Assert.Equal([40, 12], output.Scheduled.Select(s => s.NumNewTokens));
        model.RunToCompletion(scheduler, 100);
        Assert.Equal(SimulatedModel.Reference(big.PromptTokenIds, 3, stopAtEos: false), big.OutputTokenIds.ToArray());
    }
}
