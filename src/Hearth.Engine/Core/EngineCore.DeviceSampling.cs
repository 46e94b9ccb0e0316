using Hearth.Engine.Sampling;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Core;

// Sampling on the GPU: a step whose every sampled request needs no logprobs and no constraint samples there
// (plain greedy by the argmax alone); any other request sends the whole step's logits to the host sampler.
public sealed partial class EngineCore
{
    private DeviceSamplingInputs? _deviceSampling;

    /// <summary>Samples the step on the device when every row allows it; false leaves it to the host sampler.</summary>
    private bool TrySampleOnDevice(SchedulerOutput output, int numSampled)
    {
        var rows = _inputs.SampleRowIndices.AsSpan(0, numSampled);
        bool plainGreedy = AllPlainGreedy(output, numSampled);
        if (plainGreedy && _runner.CanPickGreedyInBackend)
        {
            // On the CPU too: the pool's threads share the batch's argmaxes (19 MB of logits at 32 parrot rows).
            _runner.RunGreedy(_inputs, rows, _sampled, runAhead: CanRunAhead(output));
        }
        else if (!_runner.CanSampleOnDevice)
        {
            return false;
        }
        else
        {
            var sampling = _deviceSampling ??= new DeviceSamplingInputs(_runner.VocabSize, _sampled.Length);
            sampling.Clear();
            for (int r = 0; r < numSampled; r++)
            {
                var state = (RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!;
                if (!DeviceSamplingInputs.Supports(state.Request.Sampling, state.Request.Logprobs, state.Request.Constraint is not null)) return false;
            }
            for (int r = 0; r < numSampled; r++)
            {
                var state = (RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!;
                var seq = state.Sequence;
                sampling.Add(state.Request.Sampling, seq.PromptTokenIds, seq.OutputTokenIds, ref state.Rng);
            }
            _runner.RunSampled(_inputs, rows, sampling, _sampled);
        }
        for (int r = 0; r < numSampled; r++) ((RequestState)output.Scheduled[_inputs.SampleSeqIndices[r]].Sequence.Tag!).StepLogprobs = null;
        return true;
    }

    /// <summary>
    /// The next step is likely this batch again, each sequence feeding the token it picks now: nobody waits to be
    /// admitted, every sequence decodes one token, and none reaches max_tokens or the context limit with it. An eos
    /// token, a stop string or an abort can still end one; the runner then throws away the step it ran ahead.
    /// </summary>
    private bool CanRunAhead(SchedulerOutput output)
    {
        if (_scheduler.NumWaiting > 0) return false;
        for (int i = 0; i < output.Scheduled.Count; i++)
        {
            var item = output.Scheduled[i];
            var seq = item.Sequence;
            if (item.NumNewTokens != 1 || !item.SamplesToken) return false;
            if (seq.NumOutputTokens + 1 >= seq.MaxTokens || seq.NumTokens + 1 >= MaxModelLen) return false;
        }
        return true;
    }
}
