using System.Globalization;
using System.Text;
using Hearth.Backends.Cuda;

namespace Hearth.Engine.Runner;

/// <summary>Points of a greedy decode step on the stream, in order.</summary>
internal enum GpuMark
{
    Start,
    Uploaded,
    Launched,
    Picked,
    Copied,
}

/// <summary>
/// The GPU's side of HEARTH_STEP_PROFILE: events recorded at each <see cref="GpuMark"/> of a greedy decode step give
/// the stream's time per stretch (inputs copied up, the forward pass or its graph, the pick, the ids copied down) and
/// the idle time between consecutive decode steps, by bucket. The host's phases say when work was enqueued; these
/// say when it ran, so a step that is slower inside the engine than its graph replayed back to back shows where.
/// </summary>
internal sealed class GpuStepTimes : IDisposable
{
    private const int NumMarks = (int)GpuMark.Copied + 1;
    private readonly CudaEventTimer _timer;
    private readonly Dictionary<int, (long Steps, double[] Ms, long IdleSteps, double IdleMs)> _byBucket = [];
    private int _bank;
    private bool _previousWasDecode;

    public GpuStepTimes(CudaBackend cuda) => _timer = cuda.CreateEventTimer(2 * NumMarks);

    public void Record(GpuMark mark) => _timer.Record(_bank * NumMarks + (int)mark);

    /// <summary>After the step's ids were copied and waited for: adds its stretches to <paramref name="bucket"/>'s sums.</summary>
    public void EndStep(int bucket)
    {
        if (!_byBucket.TryGetValue(bucket, out var entry)) entry = (0, new double[NumMarks - 1], 0, 0);
        int at = _bank * NumMarks;
        for (int m = 0; m < NumMarks - 1; m++) entry.Ms[m] += _timer.ElapsedMs(at + m, at + m + 1);
        if (_previousWasDecode)
        {
            entry.IdleSteps++;
            entry.IdleMs += _timer.ElapsedMs((1 - _bank) * NumMarks + (int)GpuMark.Copied, at + (int)GpuMark.Start);
        }
        _byBucket[bucket] = (entry.Steps + 1, entry.Ms, entry.IdleSteps, entry.IdleMs);
        _bank = 1 - _bank;
        _previousWasDecode = true;
    }

    /// <summary>A step that was not a profiled decode step ran: the next one has no idle time to measure.</summary>
    public void Interrupt() => _previousWasDecode = false;

    public string Format()
    {
        var text = new StringBuilder();
        foreach (var (bucket, (steps, ms, idleSteps, idleMs)) in _byBucket.OrderBy(p => p.Key))
        {
            text.Append(CultureInfo.InvariantCulture, $"gpu step profile, bucket {bucket} ({steps} steps), GPU ms a step: upload {ms[0] / steps:F3}"
                + $" forward {ms[1] / steps:F3} pick {ms[2] / steps:F3} copy {ms[3] / steps:F3}");
            if (idleSteps > 0) text.Append(CultureInfo.InvariantCulture, $", idle before the step {idleMs / idleSteps:F3}");
            text.AppendLine();
        }
        return text.ToString();
    }

    public void Dispose() => _timer.Dispose();
}
