using System.Diagnostics;
using Hearth.Backends.Cuda;

namespace Hearth.Cuda.Parity;

/// <summary>Times work as a decode step runs it: captured once in a CUDA graph and replayed, so no host launch cost.</summary>
internal static class GraphTiming
{
    /// <summary>
    /// Runs <paramref name="step"/> eagerly once (kernel loads, plans), captures it, replays once to warm up, then
    /// returns the seconds per replay over <paramref name="replays"/> back-to-back replays.
    /// </summary>
    public static double SecondsPerReplay(CudaBackend cuda, Action step, int replays)
    {
        step();
        cuda.Synchronize();
        cuda.BeginCapture();
        step();
        using var graph = cuda.EndCapture();
        cuda.Replay(graph);
        cuda.Synchronize();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < replays; i++) cuda.Replay(graph);
        cuda.Synchronize();
        return watch.Elapsed.TotalSeconds / replays;
    }
}
