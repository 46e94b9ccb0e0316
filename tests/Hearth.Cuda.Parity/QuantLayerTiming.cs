using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Seconds per decoder layer of a model's four linears as the model calls them (q|k|v, o, gate|up through
/// LinearSiluMul, down), each layer's distinct weights replayed from a CUDA graph so L2 holds none of them: the timing
/// QuantWideTiming and SplitKTiming share.
/// </summary>
internal static class QuantLayerTiming
{
    /// <summary>
    /// Layers are [qkv, o, gateUp, down]; <paramref name="only"/> -1 times whole layers, 0-3 that linear of each layer
    /// alone. <paramref name="qRows"/> is the o projection's input width (heads × head dim).
    /// </summary>
    public static double SecondsPerLayer(CudaBackend cuda, int hidden, int qRows, int inter, List<LinearWeight[]> layers,
        int batch, int only, int replays)
    {
        using var memory = new BackendPair(cuda, cuda);
        var normed = memory.Zeros(cuda, new Shape(batch, hidden), DType.BF16);
        var attention = memory.Zeros(cuda, new Shape(batch, qRows), DType.BF16);
        var activated = memory.Zeros(cuda, new Shape(batch, inter), DType.BF16);
        var gateUp = memory.Zeros(cuda, new Shape(batch, 2 * inter), DType.BF16);
        var qkv = memory.Zeros(cuda, new Shape(batch, layers[0][0].OutFeatures), DType.BF16);
        var projected = memory.Zeros(cuda, new Shape(batch, hidden), DType.BF16);
        void Step()
        {
            foreach (var layer in layers)
            {
                if (only is -1 or 0) cuda.Linear(normed, layer[0], qkv);
                if (only is -1 or 1) cuda.Linear(attention, layer[1], projected);
                if (only is -1 or 2) cuda.LinearSiluMul(normed, layer[2], gateUp, activated);
                if (only is -1 or 3) cuda.Linear(activated, layer[3], projected);
            }
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, replays) / layers.Count;
    }
}
