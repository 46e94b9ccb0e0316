using System.Diagnostics;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>
/// Bytes allocated by the calling thread and by the CPU pool's workers over a window of steps, once warm. The
/// runtime's tiered JIT promotes methods 100 ms after their 30th call and allocates on the calling thread when it
/// does; a warm-up of a fixed number of steps can finish inside that delay (one CI run counted 280 bytes), so
/// warming runs for a time and a window that still allocates is measured again: an op that allocated would do so
/// in every window, so three non-zero windows in a row are a real failure.
/// </summary>
internal static class SteadyStateAllocations
{
    public static (long Caller, long Workers) Measure(Action step, Func<long> workerAllocatedBytes, int stepsPerWindow = 100)
    {
        var warm = Stopwatch.StartNew();
        do step(); while (warm.Elapsed.TotalMilliseconds < 300);
        (long Caller, long Workers) last = default;
        for (int window = 0; window < 3; window++)
        {
            long callerBefore = GC.GetAllocatedBytesForCurrentThread(), workersBefore = workerAllocatedBytes();
            for (int i = 0; i < stepsPerWindow; i++) step();
            Thread.Sleep(5); // lets each worker record its count after its last job
            last = (GC.GetAllocatedBytesForCurrentThread() - callerBefore, workerAllocatedBytes() - workersBefore);
            if (last == (0, 0)) break;
        }
        return last;
    }
}
