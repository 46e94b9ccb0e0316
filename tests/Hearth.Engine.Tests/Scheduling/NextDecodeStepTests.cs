using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

/// <summary>
/// The decode lookahead's prediction (BatchInputs.FillNextDecode after the engine takes the next position's block):
/// while the batch stays as it is, the scheduler's next step must be exactly the predicted one, across block
/// boundaries too; once the batch changes, the prediction must not match.
/// </summary>
public class NextDecodeStepTests
{
    private static readonly SchedulerConfig Config = new() { NumBlocks = 200, MaxNumBatchedTokens = 256, MaxNumSeqs = 8, MaxModelLen = 256 };

    [Fact]
    public void A_steady_decode_batch_is_predicted_exactly_including_steps_that_start_a_block()
    {
        var scheduler = new Scheduler(Config);
        var rng = new Random(5);
        // Prompt lengths put every sequence at a different offset in its block, so some step starts a block most of the time.
        int[] promptLengths = [5, 16, 31, 47, 9, 64];
        var seqs = promptLengths.Select((n, i) => TestRequests.Make(i, TestRequests.RandomTokens(rng, n), 40)).ToArray();
        foreach (var seq in seqs) scheduler.Add(seq);
        var inputs = new BatchInputs(Config);
        BatchInputs[] predicted = [new BatchInputs(Config), new BatchInputs(Config)];
        BatchInputs? pending = null;
        int matched = 0, startedBlocks = 0, turn = 0;
        while (scheduler.HasUnfinished)
        {
            var output = scheduler.Schedule();
            inputs.Fill(output);
            if (pending is not null)
            {
                Assert.True(pending.IsSameDecodeStep(inputs), "the scheduler's next step differs from the prediction of an unchanged batch");
                for (int i = 0; i < inputs.NumSeqs; i++) Assert.Equal(inputs.SlotMapping[i], pending.SlotMapping[i]);
                matched++;
            }
            pending = null;
            bool pureDecode = inputs.NumTokens == inputs.NumSeqs && inputs.NumSampled == inputs.NumSeqs && scheduler.NumWaiting == 0;
            bool noneFinishes = output.Scheduled.All(s => s.Sequence.NumOutputTokens + 1 < s.Sequence.MaxTokens);
            if (pureDecode && noneFinishes)
            {
                foreach (var item in output.Scheduled)
                {
                    if ((item.StartPosition + 1) % Config.BlockSize == 0) startedBlocks++;
                    Assert.True(scheduler.BlockManager.TryAllocateSlots(item.Sequence, 2));
                }
                pending = predicted[turn ^= 1];
                pending.FillNextDecode(inputs, output.Scheduled);
                SchedulerInvariants.Check(scheduler, seqs);
            }
            // Never the eos id: every sequence runs to its max_tokens.
            scheduler.Postprocess(Enumerable.Repeat(7, output.NumSampledSeqs).ToArray());
        }
        Assert.True(matched >= 30, $"only {matched} predicted steps were checked");
        Assert.True(startedBlocks >= 6, $"only {startedBlocks} predicted positions started a block");
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void The_prediction_does_not_match_once_the_batch_changes()
    {
        var scheduler = new Scheduler(Config);
        var rng = new Random(9);
        var seqs = Enumerable.Range(0, 3).Select(i => TestRequests.Make(i, TestRequests.RandomTokens(rng, 10 + i), 30)).ToArray();
        foreach (var seq in seqs) scheduler.Add(seq);
        var inputs = new BatchInputs(Config);
        var predicted = new BatchInputs(Config);
        void StepAndPredict()
        {
            var output = scheduler.Schedule();
            inputs.Fill(output);
            foreach (var item in output.Scheduled) Assert.True(scheduler.BlockManager.TryAllocateSlots(item.Sequence, 2));
            predicted.FillNextDecode(inputs, output.Scheduled);
            scheduler.Postprocess(Enumerable.Repeat(7, output.NumSampledSeqs).ToArray());
        }
        scheduler.Schedule();   // the prefill step
        scheduler.Postprocess([7, 7, 7]);
        StepAndPredict();

        // A sequence ends (a stop string, an abort): the next step has one row fewer.
        Assert.True(scheduler.Finish(seqs[1].Id, FinishReason.Stop));
        inputs.Fill(scheduler.Schedule());
        Assert.False(predicted.IsSameDecodeStep(inputs));
        scheduler.Postprocess([7, 7]);

        // A new request joins: its prefill rides in the next step.
        var inputsBefore = new BatchInputs(Config);
        var output = scheduler.Schedule();
        inputsBefore.Fill(output);
        foreach (var item in output.Scheduled) Assert.True(scheduler.BlockManager.TryAllocateSlots(item.Sequence, 2));
        predicted.FillNextDecode(inputsBefore, output.Scheduled);
        scheduler.Postprocess([7, 7]);
        scheduler.Add(TestRequests.Make(10, TestRequests.RandomTokens(rng, 4), 5));
        inputs.Fill(scheduler.Schedule());
        Assert.False(predicted.IsSameDecodeStep(inputs));
    }
}
