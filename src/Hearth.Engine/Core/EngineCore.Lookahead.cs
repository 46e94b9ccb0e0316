using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Core;

// The engine's half of the decode lookahead (ModelRunner.Lookahead.cs): saying which step follows this one if the
// batch stays as it is, so the runner can enqueue it before this step's ids reach the host.
public sealed partial class EngineCore
{
    // Two, used in turn: the runner compares the step it enqueued ahead with the next schedule after this one is filled.
    private BatchInputs[]? _predicted;

    /// <summary>Decode steps the runner enqueued ahead that the schedule adopted, and those it abandoned.</summary>
    public (long Adopted, long Abandoned) LookaheadSteps => (_runner.NumLookaheadAdopted, _runner.NumLookaheadAbandoned);
    private int _predictedIndex;

    /// <summary>
    /// The next decode step if every scheduled sequence keeps decoding, or null when that cannot be known or is
    /// unlikely: requests are waiting (the next schedule would admit them), a sequence finishes by length in this step,
    /// or the runner cannot enqueue ahead. Takes the block the next position starts, if any, now (the scheduler would
    /// take it for that step anyway and then finds it there); returns null if the pool has none free.
    /// </summary>
    private BatchInputs? PredictNextDecode(SchedulerOutput output, int numSampled)
    {
        if (!_runner.CanLookAhead(numSampled)) return null;
        if (_scheduler.NumWaiting > 0 || _inputs.NumSeqs != numSampled || _inputs.NumTokens != numSampled) return null;
        var scheduled = output.Scheduled;
        for (int i = 0; i < scheduled.Count; i++)
        {
            var item = scheduled[i];
            var seq = item.Sequence;
            if (item.NumNewTokens != 1 || !item.SamplesToken) return null;
            if (seq.NumOutputTokens + 1 >= seq.MaxTokens || seq.NumTokens + 1 >= MaxModelLen) return null;
        }
        for (int i = 0; i < scheduled.Count; i++)
            if (!Blocks.TryAllocateSlots(scheduled[i].Sequence, 2)) return null;
        _predicted ??= [new BatchInputs(_scheduler.Config), new BatchInputs(_scheduler.Config)];
        var next = _predicted[_predictedIndex ^= 1];
        next.FillNextDecode(_inputs, scheduled);
        return next;
    }
}
