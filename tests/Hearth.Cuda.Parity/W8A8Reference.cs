using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The exact math of W8A8 FP8 on the CPU, in double: x rows quantized per k-group by
/// <see cref="Fp8ActivationQuantizer"/> (as the GPU does), then y[r, o] = Σ_groups w_scale[o / blockRows, g] ·
/// x_scale[r, g] · Σ_{k in g} e4m3(w[o, k]) · e4m3(xq[r, k]). Only the GPU's F32 accumulation order differs.
/// </summary>
internal static class W8A8Reference
{
    /// <param name="x">[rows, k] (bf16-representable values).</param>
    /// <param name="weights">e4m3 [outFeatures, k].</param>
    /// <param name="scales">F32 [⌈outFeatures / blockRows⌉, k / blockColumns].</param>
    public static float[] Linear(float[] x, int rows, int k, ReadOnlySpan<byte> weights, ReadOnlySpan<float> scales, int outFeatures,
        int blockRows, int blockColumns)
    {
        int groups = k / blockColumns;
        var xq = new byte[(long)rows * k];
        var xScales = new float[rows * groups];
        for (int r = 0; r < rows; r++)
            Fp8ActivationQuantizer.QuantizeRow(x.AsSpan(r * k, k), blockColumns, xq.AsSpan(r * k, k), xScales.AsSpan(r * groups, groups));
        var table = new double[256];
        for (int b = 0; b < 256; b++) table[b] = Float8E4M3.ToSingle((byte)b);
        var w = new double[(long)outFeatures * k];
        for (long i = 0; i < w.Length; i++) w[i] = table[weights[(int)i]];
        var result = new float[(long)rows * outFeatures];
        float[] scaleCopy = scales.ToArray();
        Parallel.For(0, rows, r =>
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double total = 0;
                for (int g = 0; g < groups; g++)
                {
                    double sum = 0;
                    for (int i = g * blockColumns; i < (g + 1) * blockColumns; i++) sum += w[(long)o * k + i] * table[xq[(long)r * k + i]];
                    total += (double)scaleCopy[(o / blockRows) * groups + g] * xScales[r * groups + g] * sum;
                }
                result[(long)r * outFeatures + o] = (float)total;
            }
        });
        return result;
    }
}
