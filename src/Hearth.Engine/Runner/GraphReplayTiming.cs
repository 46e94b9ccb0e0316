namespace Hearth.Engine.Runner;

/// <summary>
/// A decode bucket's captured graph replayed back to back: the GPU time of one step without the engine's
/// per-step host work between replays (what <c>hearth bench</c> sets beside its measured step).
/// </summary>
/// <param name="Bucket">The batch-size bucket whose graph was replayed.</param>
/// <param name="NumNodes">Nodes in that graph (kernels and copies one replay launches).</param>
/// <param name="LaunchMs">Host time of one cuGraphLaunch call, while earlier replays still run.</param>
/// <param name="ReplayMs">Wall time per replay over the back-to-back run.</param>
/// <param name="NumRealRows">Sequences in the replayed step (the last decode step, which was this bucket's); the other rows are padding, which costs less attention.</param>
public sealed record GraphReplayTiming(int Bucket, int NumNodes, double LaunchMs, double ReplayMs, int NumRealRows);
