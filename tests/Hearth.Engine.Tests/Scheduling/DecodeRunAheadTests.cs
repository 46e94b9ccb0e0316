using Hearth.Core.Config;
using Hearth.Engine.Runner;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

public class DecodeRunAheadTests
{
    [Fact]
    public void AdvanceMovesEachRowOneTokenOnWithinItsBlockTable()
    {
        int[] positions = [5, 15, 31];
        int[] tables = [7, 0, 0, 3, 9, 0, 4, 8, 2]; // [3 rows, 3 blocks a row], block size 16
        var nextPositions = new int[3];
        var nextLens = new int[3];
        var nextSlots = new int[3];
        DecodeRunAhead.Advance(positions, tables, 3, 16, nextPositions, nextLens, nextSlots);
        Assert.Equal([6, 16, 32], nextPositions);
        Assert.Equal([7, 17, 33], nextLens);
        // Row 1 crosses into its second block (9), row 2 into its third (2).
        Assert.Equal([7 * 16 + 6, 9 * 16, 2 * 16], nextSlots);
    }

    /// <summary>
    /// Drives the real scheduler with requests of different lengths (some end on eos, some on max_tokens, one more
    /// arrives midway) and predicts every pure decode step's successor, as the runner does: the prediction must equal
    /// the scheduler's next step whenever the batch goes on unchanged, and must not match when it changed.
    /// </summary>
    [Fact]
    public void PredictionEqualsTheSchedulersNextStepExactlyWhenTheBatchGoesOn()
    {
        var config = new SchedulerConfig { BlockSize = 16, NumBlocks = 200, MaxNumBatchedTokens = 256, MaxNumSeqs = 8, MaxModelLen = 256 };
        var rng = new Random(5);
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        var ahead = new DecodeRunAhead(config.MaxNumSeqs, config.MaxBlocksPerSeq);
        // Three without an eos id run to max_tokens; two end on eos when the simulated model picks it.
        var seqs = Enumerable.Range(0, 5).Select(i => i < 3
            ? new Sequence(i, TestRequests.RandomTokens(rng, rng.Next(3, 40)), rng.Next(20, 70))
            : TestRequests.Make(i, TestRequests.RandomTokens(rng, rng.Next(3, 40)), rng.Next(20, 70))).ToList();
        foreach (var seq in seqs) scheduler.Add(seq);
        int hits = 0, changed = 0, noRoom = 0;
        var previous = new List<Sequence>();
        bool predicted = false;
        for (int step = 0; scheduler.HasUnfinished; step++)
        {
            if (step == 30)
            {
                var late = TestRequests.Make(99, TestRequests.RandomTokens(rng, 10), 30);
                seqs.Add(late);
                scheduler.Add(late);
            }
            var output = model.Step(scheduler);
            var inputs = model.Inputs;
            var batch = output.Scheduled.Select(s => s.Sequence).ToList();
            if (predicted)
            {
                bool sameBatch = batch.SequenceEqual(previous) && previous.All(s => !s.IsFinished || batch.Contains(s));
                bool matches = ahead.Matches(inputs);
                if (sameBatch && DecodeRunAhead.IsPureDecode(inputs))
                {
                    Assert.True(matches, $"step {step}: the batch went on unchanged but the prediction differs");
                    hits++;
                }
                else
                {
                    Assert.False(matches, $"step {step}: the batch changed but the prediction matched");
                    changed++;
                }
            }
            predicted = false;
            if (DecodeRunAhead.IsPureDecode(inputs))
            {
                bool room = true;
                for (int r = 0; r < inputs.NumSeqs; r++)
                    room &= (inputs.Positions[r] + 1) / config.BlockSize < batch[r].BlockTable.Count;
                predicted = ahead.TryPredict(inputs);
                // A sequence that finished this step gave its blocks back; the prediction saw the table as run.
                if (batch.All(s => !s.IsFinished)) Assert.Equal(room, predicted);
                if (!room) noRoom++;
                // The picks this step appended are what the predicted step feeds.
                if (predicted) ahead.SetFedTokens(batch.Select(s => s.TokenIds[^1]).ToArray());
            }
            previous = batch;
        }
        foreach (var seq in seqs)
        {
            if (seq.EosTokenIds.IsEmpty) Assert.Equal(SimulatedModel.Reference(seq.PromptTokenIds, seq.MaxTokens, stopAtEos: false), seq.OutputTokenIds.ToArray());
            else TestRequests.AssertCorrect(seq);
        }
        Assert.True(hits > 30, $"only {hits} predicted steps matched");
        Assert.True(changed > 0, "no step changed the batch after a prediction");
        Assert.True(noRoom > 0, "no step needed a new block");
    }

    [Fact]
    public void OtherFedTokensOrAnotherBlockTableDoNotMatch()
    {
        var config = new SchedulerConfig { BlockSize = 16, NumBlocks = 50, MaxNumBatchedTokens = 64, MaxNumSeqs = 4, MaxModelLen = 128 };
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        // A prompt whose first eight outputs are not eos (the simulated model's eos comes at random).
        int[] prompt = Enumerable.Range(1, 200).Select(p => new[] { p, 2, 3 }).First(p => !SimulatedModel.Reference(p, 8).Contains(SimulatedModel.EosTokenId));
        var seq = TestRequests.Make(0, prompt, 50);
        scheduler.Add(seq);
        model.Step(scheduler); // the prompt
        model.Step(scheduler); // a decode step at position 3, in the first block
        Assert.Equal(3, model.Inputs.Positions[0]);
        var ahead = new DecodeRunAhead(config.MaxNumSeqs, config.MaxBlocksPerSeq);
        Assert.True(ahead.TryPredict(model.Inputs));
        Assert.False(ahead.Matches(model.Inputs), "no tokens were fed yet");
        int picked = seq.TokenIds[^1];
        ahead.SetFedTokens([picked + 1]);
        model.Step(scheduler);
        Assert.False(ahead.Matches(model.Inputs), "another token was fed");

        Assert.True(ahead.TryPredict(model.Inputs));
        ahead.SetFedTokens([seq.TokenIds[^1]]);
        model.Step(scheduler);
        Assert.True(ahead.Matches(model.Inputs));
        model.Inputs.BlockTables[1] = 42; // a block the predicted step did not see
        Assert.False(ahead.Matches(model.Inputs));
    }
}
