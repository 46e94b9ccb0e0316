using System.Diagnostics;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// What the engine's stream holds between two decode graphs, and what it costs the GPU: the batch-32 step of
/// <see cref="DecodeStepTiming"/> replayed back to back alone, then with the engine's per-step work between replays
/// (seven small uploads from page-locked memory, the greedy pick, the ids' copy back), each without waiting on the
/// host, then with a host wait each step as the engine without lookahead does. ms a step, 10 steps each.
/// </summary>
internal static class StepGapTiming
{
    public static void Run(CudaBackend cuda)
    {
        const int Batch = 32, Steps = 10;
        using var memory = new BackendPair(cuda, cuda);
        Action step = DecodeStepTiming.BuildStep(cuda, memory, Batch, out Tensor logits);
        var ids = memory.Zeros(cuda, new Shape(Batch), DType.I32);
        var upload = memory.Zeros(cuda, new Shape(7, 64), DType.I32);
        using var pinned = cuda.AllocatePinnedInts(8 * 64);
        step();
        cuda.Synchronize();
        cuda.BeginCapture();
        step();
        using var graph = cuda.EndCapture();
        void Uploads() { for (int i = 0; i < 7; i++) pinned.CopyToDevice(i * 64, 64, upload.SliceRows(i, 1)); }
        void PickAndCopy()
        {
            cuda.ArgMaxRows(logits, ids);
            pinned.CopyFromDevice(ids, 7 * 64, Batch);
        }
        (string Name, Action Body, bool Wait)[] variants =
        [
            ("graph alone, back to back", () => cuda.Replay(graph), false),
            ("graph + pick", () => { cuda.Replay(graph); cuda.ArgMaxRows(logits, ids); }, false),
            ("graph + pick + ids copied back", () => { cuda.Replay(graph); PickAndCopy(); }, false),
            ("7 uploads + graph", () => { Uploads(); cuda.Replay(graph); }, false),
            ("7 uploads + graph + pick + copy back (the engine's stream)", () => { Uploads(); cuda.Replay(graph); PickAndCopy(); }, false),
            ("the engine's stream, host waits each step", () => { Uploads(); cuda.Replay(graph); PickAndCopy(); }, true),
        ];
        Console.WriteLine($"decode step gaps (14B shape, zero weights, batch {Batch}, context 512, {graph.NumNodes} graph nodes):");
        foreach (var (name, body, wait) in variants)
        {
            body();
            cuda.Synchronize();
            double launchSeconds = 0;
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < Steps; i++)
            {
                long before = Stopwatch.GetTimestamp();
                body();
                launchSeconds += Stopwatch.GetElapsedTime(before).TotalSeconds;
                if (wait) cuda.Synchronize();
            }
            cuda.Synchronize();
            Console.WriteLine($"  {watch.Elapsed.TotalMilliseconds / Steps,7:F3} ms a step (host enqueue {launchSeconds * 1e3 / Steps:F3} ms)  [{name}]");
        }
    }
}
