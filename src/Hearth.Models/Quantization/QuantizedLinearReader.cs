using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Models.Quantization;

/// <summary>
/// Reads one quantized linear module of an AWQ, GPTQ or FP8 checkpoint into a host <see cref="QuantizedMatrix"/>.
/// AWQ and GPTQ are repacked into the canonical Int4Group layout (still 4 bits a weight; scales and zero
/// points become f32 [out, groups], a few percent of the packed size); FP8 weights are used in place.
/// Every tensor's shape is checked against what config.json and quantization_config imply.
/// </summary>
public static unsafe class QuantizedLinearReader
{
    // AWQ packs output columns 0..7 of a word at nibble positions 0, 4, 1, 5, 2, 6, 3, 7 (its "reverse order").
    private static readonly int[] AwqNibbleOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];

    /// <summary>The module's quantized weight, or null when the checkpoint stores it as a plain ".weight".</summary>
    /// <param name="owned">Receives the host buffers the result points into.</param>
    public static QuantizedMatrix? TryRead(ModelCheckpoint checkpoint, QuantizationConfig config, string module,
        int outFeatures, int inFeatures, List<DeviceBuffer> owned)
    {
        switch (config.Method)
        {
            case QuantizationMethod.Fp8:
                if (!checkpoint.TryGetTensor(module + ".weight_scale_inv", out var scaleInv)) return null;
                return ReadFp8(checkpoint, config, module, outFeatures, inFeatures, scaleInv, owned);
            default:
                if (!checkpoint.TryGetTensor(module + ".qweight", out var qweight)) return null;
                return ReadInt4(checkpoint, config, module, outFeatures, inFeatures, qweight, owned);
        }
    }

    private static QuantizedMatrix ReadFp8(ModelCheckpoint checkpoint, QuantizationConfig config, string module,
        int outFeatures, int inFeatures, Tensor scaleInv, List<DeviceBuffer> owned)
    {
        string what = string.Create(CultureInfo.InvariantCulture, $"fp8, weight_block_size [{config.BlockRows}, {config.BlockColumns}]");
        var weight = Check(checkpoint, module + ".weight", new Shape(outFeatures, inFeatures), [DType.F8E4M3], what);
        var scaleShape = new Shape(CeilDiv(outFeatures, config.BlockRows), CeilDiv(inFeatures, config.BlockColumns));
        scaleInv = Check(checkpoint, module + ".weight_scale_inv", scaleShape, [DType.F32, DType.BF16, DType.F16], what);
        var scales = scaleInv.DType == DType.F32 ? scaleInv : ToF32(scaleInv, owned);
        return QuantizedMatrix.Fp8Block(outFeatures, inFeatures, config.BlockRows, config.BlockColumns, weight, scales);
    }

    private static QuantizedMatrix ReadInt4(ModelCheckpoint checkpoint, QuantizationConfig config, string module,
        int outFeatures, int inFeatures, Tensor qweight, List<DeviceBuffer> owned)
    {
        bool awq = config.Method == QuantizationMethod.Awq;
        int groupSize = config.GroupSize == 0 ? inFeatures : config.GroupSize;
        string what = string.Create(CultureInfo.InvariantCulture, $"{(awq ? "awq" : "gptq")}, group_size {config.GroupSize}");
        if (inFeatures % groupSize != 0 || inFeatures % QuantizedMatrix.Int4ChunkElements != 0 || outFeatures % 8 != 0)
            throw new HearthException(string.Create(CultureInfo.InvariantCulture,
                $"'{module}' is [{outFeatures}, {inFeatures}], which {what} cannot split into groups (in {checkpoint.Directory})"));
        int groups = inFeatures / groupSize;
        qweight = Check(checkpoint, module + ".qweight", awq ? new Shape(inFeatures, outFeatures / 8) : new Shape(inFeatures / 8, outFeatures), [DType.I32], what);
        // AWQ without zero points (zero_point: false) stores no qzeros and is symmetric around 8.
        Tensor? qzeros = awq && !config.HasZeroPoints ? null
            : Check(checkpoint, module + ".qzeros", new Shape(groups, outFeatures / 8), [DType.I32], what);
        var scalesIn = Check(checkpoint, module + ".scales", new Shape(groups, outFeatures), [DType.F16, DType.BF16, DType.F32], what);

        int[]? permutation = null;
        if (!awq && checkpoint.TryGetTensor(module + ".g_idx", out _))
        {
            var gIdx = Check(checkpoint, module + ".g_idx", new Shape(inFeatures), [DType.I32], what);
            permutation = GroupOrder(new ReadOnlySpan<int>((void*)gIdx.Data, inFeatures), groupSize, groups, module);
        }

        var data = Host(owned, DType.U8, new Shape(outFeatures, inFeatures / 2));
        var scales = Host(owned, DType.F32, new Shape(outFeatures, groups));
        var zeros = Host(owned, DType.F32, new Shape(outFeatures, groups));
        int* q = (int*)qweight.Data;
        byte* packed = (byte*)data.Data;
        if (awq)
        {
            Parallel.For(0, outFeatures / 8, word =>
            {
                for (int i = 0; i < inFeatures; i++)
                {
                    uint bits = (uint)q[(nint)i * (outFeatures / 8) + word];
                    for (int k = 0; k < 8; k++) Put(packed, inFeatures, word * 8 + k, i, (int)(bits >> (4 * AwqNibbleOfColumn[k])) & 15);
                }
            });
        }
        else
        {
            int[]? storedColumn = permutation is null ? null : Inverse(permutation);
            Parallel.For(0, outFeatures, j =>
            {
                for (int w = 0; w < inFeatures / 8; w++)
                {
                    uint bits = (uint)q[(nint)w * outFeatures + j];
                    for (int k = 0; k < 8; k++)
                    {
                        int i = w * 8 + k;
                        Put(packed, inFeatures, j, storedColumn?[i] ?? i, (int)(bits >> (4 * k)) & 15);
                    }
                }
            });
        }

        float* s = (float*)scales.Data, z = (float*)zeros.Data;
        int* qz = qzeros is { } zerosTensor ? (int*)zerosTensor.Data : null;
        bool allEight = true;
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < outFeatures; j++)
            {
                s[(nint)j * groups + g] = LoadFloat(scalesIn, (nint)g * outFeatures + j);
                float zero = 8;
                if (qz != null)
                {
                    uint bits = (uint)qz[(nint)g * (outFeatures / 8) + j / 8];
                    int nibble = (int)(bits >> (4 * (awq ? AwqNibbleOfColumn[j % 8] : j % 8))) & 15;
                    // Older GPTQ exports store zero - 1 (so a zero of 0 wrapped to 15 reads back as 16, as their kernels do).
                    zero = nibble + (config.ZerosStoredMinusOne && !awq ? 1 : 0);
                }
                z[(nint)j * groups + g] = zero;
                allEight &= zero == 8;
            }
        Tensor? permutationTensor = null;
        if (permutation is not null)
        {
            permutationTensor = Host(owned, DType.I32, new Shape(inFeatures));
            permutation.CopyTo(new Span<int>((void*)permutationTensor.Value.Data, inFeatures));
        }
        return QuantizedMatrix.Int4Group(outFeatures, inFeatures, groupSize, data, scales, allEight ? null : zeros, permutationTensor);
    }

    /// <summary>
    /// The input order that makes each g_idx group contiguous (stable, so a trivial g_idx gives null). Each
    /// group must have exactly groupSize members, as GPTQ's act-order produces.
    /// </summary>
    private static int[]? GroupOrder(ReadOnlySpan<int> gIdx, int groupSize, int groups, string module)
    {
        var counts = new int[groups];
        bool trivial = true;
        for (int i = 0; i < gIdx.Length; i++)
        {
            int g = gIdx[i];
            if ((uint)g >= (uint)groups)
                throw new HearthException(string.Create(CultureInfo.InvariantCulture, $"'{module}.g_idx' names group {g}, but there are {groups}"));
            counts[g]++;
            trivial &= g == i / groupSize;
        }
        if (trivial) return null;
        foreach (int count in counts)
            if (count != groupSize)
                throw new HearthException($"'{module}.g_idx' has groups of unequal size, which Hearth cannot run");
        var order = new int[gIdx.Length];
        var next = new int[groups];
        for (int g = 0; g < groups; g++) next[g] = g * groupSize;
        for (int i = 0; i < gIdx.Length; i++) order[next[gIdx[i]]++] = i;
        return order;
    }

    private static int[] Inverse(int[] permutation)
    {
        var inverse = new int[permutation.Length];
        for (int c = 0; c < permutation.Length; c++) inverse[permutation[c]] = c;
        return inverse;
    }

    /// <summary>Stores q as weight (j, column c) of the canonical layout documented on <see cref="QuantizedMatrix"/>.</summary>
    private static void Put(byte* packed, int inFeatures, int j, int c, int q)
    {
        byte* b = packed + (nint)j * (inFeatures / 2) + (c / 32) * 16 + (c % 16);
        *b = (c & 16) == 0 ? (byte)((*b & 0xF0) | q) : (byte)((*b & 0x0F) | (q << 4));
    }

    private static Tensor Check(ModelCheckpoint checkpoint, string name, Shape expected, DType[] dtypes, string what)
    {
        var tensor = checkpoint.GetTensor(name);
        if (tensor.Shape != expected)
            throw new HearthException($"tensor '{name}' has shape {tensor.Shape}, but config.json ({what}) implies {expected} (in {checkpoint.Directory})");
        if (Array.IndexOf(dtypes, tensor.DType) < 0)
            throw new HearthException($"tensor '{name}' is {tensor.DType}; {what} expects {string.Join(" or ", dtypes)}");
        return tensor;
    }

    private static Tensor ToF32(Tensor source, List<DeviceBuffer> owned)
    {
        var result = Host(owned, DType.F32, source.Shape);
        float* destination = (float*)result.Data;
        for (long i = 0; i < source.NumElements; i++) destination[i] = LoadFloat(source, (nint)i);
        return result;
    }

    private static float LoadFloat(Tensor tensor, nint index) => tensor.DType switch
    {
        DType.F16 => (float)BitConverter.UInt16BitsToHalf(((ushort*)tensor.Data)[index]),
        DType.BF16 => BFloat16Bits.ToSingle(((ushort*)tensor.Data)[index]),
        _ => ((float*)tensor.Data)[index],
    };

    private static Tensor Host(List<DeviceBuffer> owned, DType dtype, Shape shape)
    {
        var buffer = new CpuBuffer(shape.NumElements * dtype.ElementSizeBytes());
        owned.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
