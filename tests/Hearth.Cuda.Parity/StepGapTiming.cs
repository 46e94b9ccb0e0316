using System.Diagnostics;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// What the engine's stream holds between two decode graphs, and what it costs the GPU: the batch-32 step of
/// <see cref="DecodeStepTiming"/> replayed back to back alone, then with the engine's per-step work between replays
/// (seven small uploads, the greedy pick), without waiting on the host, then as the engine runs a step: uploads,
/// graph, pick, and the ids copied back, which waits for the step. ms a step, 10 steps each.
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
        var hostInts = new int[64];
        var hostIds = new int[Batch];
        step();
        cuda.Synchronize();
        cuda.BeginCapture();
        step();
        using var graph = cuda.EndCapture();
        void Uploads() { for (int i = 0; i < 7; i++) cuda.CopyToDevice<int>(hostInts, upload.SliceRows(i, 1)); }
        (string Name, Action Body)[] variants =
        [
            ("graph alone, back to back", () => cuda.Replay(graph)),
            ("graph + pick", () => { cuda.Replay(graph); cuda.ArgMaxRows(logits, ids); }),
            ("7 uploads + graph + pick", () => { Uploads(); cuda.Replay(graph); cuda.ArgMaxRows(logits, ids); }),
            ("the engine's step: 7 uploads + graph + pick + ids copied back (waits)", () =>
            {
                Uploads();
                cuda.Replay(graph);
                cuda.ArgMaxRows(logits, ids);
                cuda.CopyToHost<int>(ids, hostIds);
            }),
        ];
        Console.WriteLine($"decode step gaps (14B shape, zero weights, batch {Batch}, context 512, {graph.NumNodes} graph nodes):");
        foreach (var (name, body) in variants)
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
            }
            cuda.Synchronize();
            Console.WriteLine($"  {watch.Elapsed.TotalMilliseconds / Steps,7:F3} ms a step (host enqueue {launchSeconds * 1e3 / Steps:F3} ms)  [{name}]");
        }
    }
}
