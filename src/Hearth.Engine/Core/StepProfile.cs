using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Hearth.Engine.Core;

/// <summary>The phases of one engine step, in order.</summary>
internal enum StepPhase
{
    /// <summary>Scheduling and filling the step's flat inputs on the host.</summary>
    Schedule,
    /// <summary>Uploading a graph-replayed decode step's padded inputs.</summary>
    Upload,
    /// <summary>Launching the step's graph (other steps: uploading and enqueueing the forward pass; on the CPU: running it).</summary>
    Launch,
    /// <summary>Enqueueing the greedy pick.</summary>
    Pick,
    /// <summary>Waiting for the device and copying the picked tokens back.</summary>
    Wait,
    /// <summary>Postprocessing: stop checks, detokenization, emitting outputs.</summary>
    Finish,
    /// <summary>Between two steps, outside the engine (the caller's loop).</summary>
    Outside,
}

/// <summary>
/// Wall time per phase of the engine's steps, to find the host time between a GPU step's kernels (the device
/// idles while the host schedules and postprocesses). HEARTH_STEP_PROFILE=1 turns it on; when the engine is
/// disposed it prints each phase's mean per step for the steps that only decode, by batch size.
/// </summary>
internal sealed class StepProfile
{
    private const int NumPhases = (int)StepPhase.Outside + 1;
    private readonly Dictionary<int, (long Steps, long[] Ticks)> _byBatch = [];
    private long[]? _current;
    private long _lastMark, _stepEnd;

    public static StepProfile? FromEnvironment() =>
        Environment.GetEnvironmentVariable("HEARTH_STEP_PROFILE") == "1" ? new StepProfile() : null;

    /// <summary>Starts a step that decodes numSeqs sequences and nothing else (other steps are not profiled).</summary>
    public void BeginDecodeStep(int numSeqs, long startTimestamp)
    {
        if (!_byBatch.TryGetValue(numSeqs, out var entry)) entry = (0, new long[NumPhases]);
        if (_stepEnd != 0) entry.Ticks[(int)StepPhase.Outside] += startTimestamp - _stepEnd;
        _byBatch[numSeqs] = (entry.Steps + 1, entry.Ticks);
        _current = entry.Ticks;
        _lastMark = startTimestamp;
    }

    /// <summary>Ends a phase of the current decode step: the time since the step began or the last mark is the phase's.</summary>
    public void Mark(StepPhase phase)
    {
        if (_current is null) return;
        long now = Stopwatch.GetTimestamp();
        _current[(int)phase] += now - _lastMark;
        _lastMark = now;
    }

    /// <summary>Ends the current step (a step that was not a decode step only resets the outside clock).</summary>
    public void EndStep(bool wasDecodeStep)
    {
        _stepEnd = wasDecodeStep ? Stopwatch.GetTimestamp() : 0;
        _current = null;
    }

    /// <summary>One line per batch size: mean ms per step of each phase.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        foreach (var (batch, (steps, ticks)) in _byBatch.OrderBy(p => p.Key))
        {
            text.Append(CultureInfo.InvariantCulture, $"step profile, decode batch {batch} ({steps} steps), ms a step:");
            double total = 0;
            for (int p = 0; p < NumPhases; p++)
            {
                double ms = ticks[p] * 1000.0 / Stopwatch.Frequency / steps;
                total += ms;
                text.Append(CultureInfo.InvariantCulture, $" {((StepPhase)p).ToString().ToLowerInvariant()} {ms:F3}");
            }
            text.Append(CultureInfo.InvariantCulture, $", total {total:F3}").AppendLine();
        }
        return text.ToString();
    }
}
