namespace Hearth.Backends.Cpu;

/// <summary>How the dense and the quantized Linear cut their output features into pool items, and their bias.</summary>
internal static unsafe class LinearChunks
{
    /// <summary>
    /// Output features per item: several items per thread, so that a thread slowed by a neighbour does not hold up
    /// the op, and with more than one input row at most cacheBytes of weight rows (rowBytes each), since every row
    /// after the first re-reads the chunk, which must still be cached. A multiple of 4, at least 4.
    /// </summary>
    public static int Size(int rows, int outFeatures, long rowBytes, int numThreads, int cacheBytes)
    {
        int perThread = Math.Max(1, (outFeatures + numThreads * 4 - 1) / (numThreads * 4));
        int chunk = (perThread + 3) & ~3;
        if (rows > 1) chunk = Math.Min(chunk, (int)Math.Max(4, (cacheBytes / Math.Max(rowBytes, 1)) & ~3));
        return Math.Max(4, chunk);
    }

    /// <summary>y[r, j] += bias[j] for j in [start, end), every row. y [rows, outFeatures]; bias [outFeatures].</summary>
    public static void AddBias(float* y, int rows, int outFeatures, int start, int end, byte* bias, Hearth.Core.DType biasType)
    {
        for (int j = start; j < end; j++)
        {
            float b = CpuChecks.LoadScalar(bias, biasType, j);
            for (int r = 0; r < rows; r++) y[(nint)r * outFeatures + j] += b;
        }
    }
}
