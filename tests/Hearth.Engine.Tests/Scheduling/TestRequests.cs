using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

internal static class TestRequests
{
    public static int[] RandomTokens(Random rng, int count)
    {
        var tokens = new int[count];
        // Below the eos id, so prompts never contain it.
        for (int i = 0; i < count; i++) tokens[i] = rng.Next(SimulatedModel.EosTokenId);
        return tokens;
    }

    public static Sequence Make(long id, int[] prompt, int maxTokens) =>
        new(id, prompt, maxTokens, eosTokenIds: [SimulatedModel.EosTokenId]);

    /// <summary>Runs one request on a fresh scheduler of the same configuration and returns its output.</summary>
    public static int[] RunAlone(SchedulerConfig config, int[] prompt, int maxTokens)
    {
        var scheduler = new Scheduler(config);
        var model = new SimulatedModel(config);
        Sequence seq = Make(0, prompt, maxTokens);
        scheduler.Add(seq);
        model.RunToCompletion(scheduler, 10_000);
        return seq.OutputTokenIds.ToArray();
    }

    /// <summary>Asserts a finished sequence produced exactly what the reference model produces, with the matching reason.</summary>
    public static void AssertCorrect(Sequence seq)
    {
        int[] expected = SimulatedModel.Reference(seq.PromptTokenIds, seq.MaxTokens);
        Assert.Equal(SequenceStatus.Finished, seq.Status);
        Assert.Equal(expected, seq.OutputTokenIds.ToArray());
        bool endedOnEos = expected[^1] == SimulatedModel.EosTokenId;
        Assert.Equal(endedOnEos ? FinishReason.Stop : FinishReason.Length, seq.FinishReason);
        Assert.Equal(endedOnEos ? SimulatedModel.EosTokenId : null, seq.StopTokenId);
    }
}
