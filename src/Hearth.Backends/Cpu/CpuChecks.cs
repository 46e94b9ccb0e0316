using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>Argument checks shared by the CPU ops; they run on the calling thread before any work starts.</summary>
internal static unsafe class CpuChecks
{
    /// <summary>Weights the CPU kernels read: BF16, F16, F32. Anything else is a model the CPU cannot run yet.</summary>
    public static void WeightDType(DType dtype, string what)
    {
        if (dtype is not (DType.BF16 or DType.F16 or DType.F32))
            throw new HearthException($"the CPU backend cannot run {what} weights of type {dtype}; use BF16, F16 or F32 weights");
    }

    public static void F32(Tensor tensor, string what)
    {
        if (tensor.DType != DType.F32) throw new ArgumentException($"{what} must be F32 on the CPU, got {tensor.DType}");
    }

    public static void I32(Tensor tensor, string what)
    {
        if (tensor.DType != DType.I32) throw new ArgumentException($"{what} must be I32, got {tensor.DType}");
    }

    public static void SameShape(Tensor a, Tensor b, string what)
    {
        if (a.Shape != b.Shape) throw new ArgumentException($"{what}: shapes {a.Shape} and {b.Shape} differ");
    }

    /// <summary>
    /// A Linear call's F32 [rows, in] input and [rows, out] output against the weight, at most maxParts fused
    /// parts; returns rows. Rows are the leading axis and the rest is one row, so [tokens, heads, headDim] feeds
    /// o_proj directly.
    /// </summary>
    public static int LinearShapes(Tensor input, LinearWeight weight, Tensor output, int numParts, int maxParts)
    {
        int rows = input.Shape[0];
        F32(input, "Linear input");
        F32(output, "Linear output");
        if (input.Shape.Rank < 2 || RowLength(input) != weight.InFeatures)
            throw new ArgumentException($"Linear input {input.Shape} does not match {weight.InFeatures} input features");
        if (output.Shape.Rank < 2 || output.Shape[0] != rows || RowLength(output) != weight.OutFeatures)
            throw new ArgumentException($"Linear output {output.Shape} is not [{rows}, {weight.OutFeatures}]");
        if (numParts > maxParts) throw new ArgumentException($"Linear supports at most {maxParts} fused parts, got {numParts}");
        return rows;
    }

    /// <summary>The trailing size of a [rows, dim] (or higher-rank, flattened) tensor.</summary>
    public static int RowLength(Tensor tensor) => tensor.Shape.Rank == 0 ? 1 : checked((int)tensor.Shape.RowElements);

    public static float LoadScalar(byte* start, DType dtype, nint index) => dtype switch
    {
        DType.BF16 => Bf16Kind.LoadScalar(start, index),
        DType.F16 => F16Kind.LoadScalar(start, index),
        _ => F32Kind.LoadScalar(start, index),
    };
}
