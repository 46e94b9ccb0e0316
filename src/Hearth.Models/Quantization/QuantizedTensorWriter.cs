using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Safetensors;

namespace Hearth.Models.Quantization;

/// <summary>
/// Writes one linear weight [out, in] as the tensors an AWQ, GPTQ or FP8 checkpoint stores for it, in the
/// published layouts: AWQ qweight/qzeros int32 [in, out/8] and [groups, out/8] with columns at nibbles
/// 0, 4, 1, 5, 2, 6, 3, 7 of each word, scales f16 [groups, out]; GPTQ qweight int32 [in/8, out] (inputs at
/// nibbles 0..7), qzeros [groups, out/8] (outputs at nibbles 0..7, stored minus one in the "gptq" format),
/// scales f16 [groups, out], g_idx int32 [in]; FP8 weight float8_e4m3fn [out, in] and weight_scale_inv f32
/// [⌈out/br⌉, ⌈in/bc⌉] with w ≈ fp8 · scale.
/// </summary>
public static class QuantizedTensorWriter
{
    private static readonly int[] AwqNibbleOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];

    /// <param name="weight">[out, in] row-major.</param>
    /// <param name="inputOrder">GPTQ act-order only: the order in which inputs are grouped (null: natural order).</param>
    public static IReadOnlyList<SafetensorsEntry> Write(string module, float[] weight, int outFeatures, int inFeatures,
        QuantizationConfig config, int[]? inputOrder = null)
    {
        if (weight.Length != (long)outFeatures * inFeatures) throw new ArgumentException($"{module}: weight is not [{outFeatures}, {inFeatures}]");
        return config.Method == QuantizationMethod.Fp8
            ? WriteFp8(module, weight, outFeatures, inFeatures, config.BlockRows, config.BlockColumns)
            : WriteInt4(module, weight, outFeatures, inFeatures, config, inputOrder);
    }

    private static SafetensorsEntry[] WriteInt4(string module, float[] weight, int outFeatures, int inFeatures,
        QuantizationConfig config, int[]? inputOrder)
    {
        bool awq = config.Method == QuantizationMethod.Awq;
        int groupSize = config.GroupSize == 0 ? inFeatures : config.GroupSize;
        if (inFeatures % groupSize != 0 || outFeatures % 8 != 0 || inFeatures % 8 != 0)
            throw new HearthException($"{module} [{outFeatures}, {inFeatures}] cannot be cut into {groupSize}-input groups of 4-bit weights");
        int groups = inFeatures / groupSize;
        int[] order = inputOrder ?? Enumerable.Range(0, inFeatures).ToArray();
        var grid = awq ? Int4Rounding.Grid.AwqAsymmetric
            : config.HasZeroPoints ? Int4Rounding.Grid.GptqAsymmetric : Int4Rounding.Grid.GptqSymmetric;
        var q = new byte[(long)outFeatures * inFeatures]; // [out, in], input order
        var scales = new Half[groups * outFeatures]; // [groups, out]
        var zeros = new int[groups * outFeatures];
        Parallel.For(0, outFeatures, j =>
        {
            var values = new float[groupSize];
            var quantized = new byte[groupSize];
            for (int g = 0; g < groups; g++)
            {
                for (int k = 0; k < groupSize; k++) values[k] = weight[(long)j * inFeatures + order[g * groupSize + k]];
                var (scale, zero) = Int4Rounding.Quantize(values, quantized, grid);
                for (int k = 0; k < groupSize; k++) q[(long)j * inFeatures + order[g * groupSize + k]] = quantized[k];
                scales[g * outFeatures + j] = (Half)scale;
                zeros[g * outFeatures + j] = zero;
            }
        });

        int zeroOffset = !awq && config.ZerosStoredMinusOne ? -1 : 0;
        var qzeros = new int[groups * (outFeatures / 8)];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < outFeatures; j++)
            {
                int nibble = awq ? AwqNibbleOfColumn[j % 8] : j % 8;
                qzeros[g * (outFeatures / 8) + j / 8] |= ((zeros[g * outFeatures + j] + zeroOffset) & 15) << (4 * nibble);
            }
        // Both layouts put inputs on the slow axis while q is [out, in]: packing walks blocks of 64 inputs (one cache
        // line of each q row) in parallel, so neither the reads nor the writes stride through the whole matrix
        // (a 17408 × 5120 projection took seconds one element at a time; 14B has 280 of them).
        const int InputBlock = 64;
        int inputBlocks = (inFeatures + InputBlock - 1) / InputBlock;
        int[] qweight;
        if (awq)
        {
            var packed = qweight = new int[inFeatures * (outFeatures / 8)];
            Parallel.For(0, inputBlocks, block =>
            {
                int start = block * InputBlock, end = Math.Min(start + InputBlock, inFeatures);
                for (int j = 0; j < outFeatures; j++)
                {
                    int shift = 4 * AwqNibbleOfColumn[j % 8];
                    long row = (long)j * inFeatures;
                    for (int i = start; i < end; i++) packed[i * (outFeatures / 8) + j / 8] |= q[row + i] << shift;
                }
            });
        }
        else
        {
            var packed = qweight = new int[inFeatures / 8 * outFeatures];
            Parallel.For(0, inputBlocks, block =>
            {
                int start = block * InputBlock, end = Math.Min(start + InputBlock, inFeatures);
                for (int j = 0; j < outFeatures; j++)
                {
                    long row = (long)j * inFeatures;
                    for (int i = start; i < end; i++) packed[i / 8 * outFeatures + j] |= q[row + i] << (4 * (i % 8));
                }
            });
        }
        var entries = new List<SafetensorsEntry>
        {
            Entry(module + ".qweight", DType.I32, awq ? [inFeatures, outFeatures / 8] : [inFeatures / 8, outFeatures], qweight),
            Entry(module + ".qzeros", DType.I32, [groups, outFeatures / 8], qzeros),
            Entry(module + ".scales", DType.F16, [groups, outFeatures], scales),
        };
        if (!awq)
        {
            var gIdx = new int[inFeatures];
            for (int position = 0; position < inFeatures; position++) gIdx[order[position]] = position / groupSize;
            entries.Add(Entry(module + ".g_idx", DType.I32, [inFeatures], gIdx));
        }
        return [.. entries];
    }

    private static SafetensorsEntry[] WriteFp8(string module, float[] weight, int outFeatures, int inFeatures, int blockRows, int blockColumns)
    {
        int scaleRows = (outFeatures + blockRows - 1) / blockRows, scaleColumns = (inFeatures + blockColumns - 1) / blockColumns;
        var scales = new float[scaleRows * scaleColumns];
        var bytes = new byte[(long)outFeatures * inFeatures];
        Parallel.For(0, scaleRows * scaleColumns, block =>
        {
            int rowStart = block / scaleColumns * blockRows, columnStart = block % scaleColumns * blockColumns;
            int rowEnd = Math.Min(rowStart + blockRows, outFeatures), columnEnd = Math.Min(columnStart + blockColumns, inFeatures);
            float amax = 0;
            for (int j = rowStart; j < rowEnd; j++)
                for (int i = columnStart; i < columnEnd; i++) amax = Math.Max(amax, Math.Abs(weight[(long)j * inFeatures + i]));
            float scale = amax == 0 ? 1f : amax / Float8E4M3.MaxValue;
            scales[block] = scale;
            for (int j = rowStart; j < rowEnd; j++)
                for (int i = columnStart; i < columnEnd; i++)
                    bytes[(long)j * inFeatures + i] = Float8E4M3.FromSingle(weight[(long)j * inFeatures + i] / scale);
        });
        return
        [
            new SafetensorsEntry(module + ".weight", DType.F8E4M3, [outFeatures, inFeatures], bytes),
            Entry(module + ".weight_scale_inv", DType.F32, [scaleRows, scaleColumns], scales),
        ];
    }

    private static SafetensorsEntry Entry<T>(string name, DType dtype, long[] shape, T[] values) where T : unmanaged =>
        new(name, dtype, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}
