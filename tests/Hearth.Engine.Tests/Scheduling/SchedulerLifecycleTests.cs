using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

public class SchedulerLifecycleTests
{
    private static readonly SchedulerConfig Config = new() { BlockSize = 8, NumBlocks = 40, MaxNumBatchedTokens = 24, MaxNumSeqs = 8, MaxModelLen = 200 };

    [Fact]
    public void AbortMidPrefillFreesItsBlocksAtOnce()
    {
        var scheduler = new Scheduler(Config);
        var model = new SimulatedModel(Config);
        var rng = new Random(1);
        var other = new Sequence(1, TestRequests.RandomTokens(rng, 5), 30);
        var longOne = new Sequence(2, TestRequests.RandomTokens(rng, 100), 10);
        scheduler.Add(other);
        scheduler.Add(longOne);
        model.Step(scheduler);
        model.Step(scheduler);
        Assert.InRange(longOne.NumComputedTokens, 1, 99);
        Assert.Equal(SequenceStatus.Running, longOne.Status);
        int freeBefore = scheduler.BlockManager.NumFreeBlocks;
        int held = longOne.BlockTable.Count;

        Assert.True(scheduler.Abort(longOne.Id));

        Assert.Equal(freeBefore + held, scheduler.BlockManager.NumFreeBlocks);
        Assert.Equal(FinishReason.Abort, longOne.FinishReason);
        Assert.Equal(SequenceStatus.Finished, longOne.Status);
        Assert.False(scheduler.Abort(longOne.Id));
        SchedulerInvariants.Check(scheduler, [other, longOne]);
        model.RunToCompletion(scheduler, 100);
        Assert.Equal(SimulatedModel.Reference(other.PromptTokenIds, 30, stopAtEos: false), other.OutputTokenIds.ToArray());
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void AbortMidDecodeAndWhileWaitingFreesEverything()
    {
        var config = Config with { MaxNumSeqs = 2 };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var rng = new Random(2);
        var seqs = Enumerable.Range(0, 4).Select(i => new Sequence(i, TestRequests.RandomTokens(rng, 12), 50)).ToArray();
        foreach (var seq in seqs) scheduler.Add(seq);
        for (int i = 0; i < 4; i++) model.Step(scheduler);
        Assert.True(seqs[0].NumOutputTokens > 1);
        Assert.Equal(SequenceStatus.Waiting, seqs[3].Status);

        Assert.True(scheduler.Abort(seqs[0].Id)); // decoding
        Assert.True(scheduler.Abort(seqs[3].Id)); // never admitted
        Assert.Empty(seqs[0].BlockTable);
        Assert.Equal(1, scheduler.NumRunning);
        Assert.Equal(1, scheduler.NumWaiting);
        SchedulerInvariants.Check(scheduler, seqs);

        model.RunToCompletion(scheduler, 500, _ => SchedulerInvariants.Check(scheduler, seqs));
        Assert.Equal(FinishReason.Abort, seqs[3].FinishReason);
        Assert.Equal(0, seqs[3].NumOutputTokens);
        foreach (var seq in seqs.Skip(1).Take(2))
        {
            Assert.Equal(SimulatedModel.Reference(seq.PromptTokenIds, 50, stopAtEos: false), seq.OutputTokenIds.ToArray());
        }
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void AbortBetweenScheduleAndPostprocessDropsItsSampledToken()
    {
        var scheduler = new Scheduler(Config);
        var a = new Sequence(1, [1, 2, 3], 5);
        var b = new Sequence(2, [4, 5, 6], 5);
        scheduler.Add(a);
        scheduler.Add(b);
        SchedulerOutput output = scheduler.Schedule();
        Assert.Equal(2, output.NumSampledSeqs);
        scheduler.Abort(a.Id);
        scheduler.Postprocess([10, 20]);
        Assert.Equal(0, a.NumOutputTokens);
        Assert.Empty(a.BlockTable);
        Assert.Equal([20], b.OutputTokenIds.ToArray());
        Assert.Equal(3, b.NumComputedTokens);
        SchedulerInvariants.Check(scheduler, [a, b]);
    }

    [Fact]
    public void EngineCanFinishARequestForAStopString()
    {
        var scheduler = new Scheduler(Config);
        var model = new SimulatedModel(Config);
        var seq = new Sequence(1, [7, 8, 9], 40);
        scheduler.Add(seq);
        model.Step(scheduler);
        model.Step(scheduler);
        Assert.True(scheduler.Finish(seq.Id, FinishReason.Stop));
        Assert.Equal(FinishReason.Stop, seq.FinishReason);
        Assert.Null(seq.StopTokenId);
        Assert.Equal(2, seq.NumOutputTokens);
        SchedulerInvariants.CheckAllReturned(scheduler);
        Assert.True(scheduler.Schedule().IsEmpty);
    }

    [Fact]
    public void StopTokensMaxTokensAndModelLengthFinishWithTheRightReason()
    {
        var config = Config with { MaxModelLen = 12 };
        var scheduler = new Scheduler(config);
        var eos = new Sequence(1, [1, 2], 9, eosTokenIds: [100]);
        var stop = new Sequence(2, [3, 4], 9, eosTokenIds: [100], stopTokenIds: [200]);
        var ignore = new Sequence(3, [5, 6], 3, eosTokenIds: [100]) { IgnoreEos = true };
        var full = new Sequence(4, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 2);
        foreach (var s in new[] { eos, stop, ignore, full }) scheduler.Add(s);

        scheduler.Schedule();
        scheduler.Postprocess([100, 200, 100, 42]);
        SchedulerOutput output = scheduler.Schedule();
        Assert.Equal([ignore, full], output.Scheduled.Select(s => s.Sequence));
        scheduler.Postprocess([100, 43]);

        Assert.Equal((FinishReason.Stop, (int?)100), (eos.FinishReason, eos.StopTokenId));
        Assert.Equal((FinishReason.Stop, (int?)200), (stop.FinishReason, stop.StopTokenId));
        Assert.Equal(FinishReason.Length, full.FinishReason);
        Assert.Equal(12, full.NumTokens);
        Assert.Equal(SequenceStatus.Running, ignore.Status);
        Assert.Equal([100, 100], ignore.OutputTokenIds.ToArray());
        scheduler.Schedule();
        scheduler.Postprocess([7]);
        Assert.Equal(FinishReason.Length, ignore.FinishReason);
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void RequestsThatCanNeverFitAreRejectedAtAdmission()
    {
        var scheduler = new Scheduler(Config with { NumBlocks = 10, MaxModelLen = 100 });
        var tooLong = new Sequence(1, new int[90], 11);
        var ex = Assert.Throws<HearthException>(() => scheduler.Add(tooLong));
        Assert.Contains("maximum context length is 100", ex.Message);

        // 70 + 10 caches at most 79 tokens: 10 blocks of 8, the whole pool. 75 + 10 caches 84: 11 blocks.
        scheduler.Add(new Sequence(2, new int[70], 10));
        var tooBig = new Sequence(3, new int[75], 10);
        ex = Assert.Throws<HearthException>(() => scheduler.Add(tooBig));
        Assert.Contains("only 10", ex.Message);

        Assert.Equal(1, scheduler.NumWaiting);
        Assert.Equal(SequenceStatus.Waiting, tooBig.Status);
        Assert.Throws<HearthException>(() => new Sequence(4, [], 5));
        Assert.Throws<HearthException>(() => new Sequence(5, [1], 0));
        Assert.Throws<HearthException>(() => new Scheduler(new SchedulerConfig { NumBlocks = 0 }));
    }

    [Fact]
    public void PostprocessRejectsTheWrongNumberOfSampledTokens()
    {
        var scheduler = new Scheduler(Config);
        scheduler.Add(new Sequence(1, [1, 2], 3));
        scheduler.Schedule();
        Assert.Throws<ArgumentException>(() => scheduler.Postprocess([1, 2]));
        Assert.Throws<InvalidOperationException>(() => scheduler.Schedule());
    }
}
