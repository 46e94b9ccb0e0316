using Hearth.Core;

namespace Hearth.Backends;

/// <summary>How a linear layer's weight is stored; backends dispatch their matmul on it.</summary>
public enum WeightFormat
{
    /// <summary>Plain [out, in] matrices in F32, F16 or BF16.</summary>
    Dense,
}

/// <summary>
/// The weight of y = x·Wᵀ (+ b). A fused projection (q|k|v, gate|up) is several parts whose output
/// columns are concatenated in order, so checkpoints are fused without copying them.
/// </summary>
public sealed class LinearWeight
{
    public LinearWeight(WeightFormat format, IReadOnlyList<Tensor> parts, Tensor? bias = null)
    {
        if (parts.Count == 0) throw new ArgumentException("a linear weight needs at least one part");
        int inFeatures = parts[0].Shape[1];
        int outFeatures = 0;
        foreach (var part in parts)
        {
            if (part.Shape.Rank != 2 || part.Shape[1] != inFeatures)
                throw new ArgumentException($"part {part.Shape} does not have {inFeatures} input features");
            outFeatures += part.Shape[0];
        }
        if (bias is { } b && b.NumElements != outFeatures)
            throw new ArgumentException($"bias has {b.NumElements} elements, expected {outFeatures}");
        Format = format;
        Parts = parts;
        Bias = bias;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    public static LinearWeight Dense(params Tensor[] parts) => new(WeightFormat.Dense, parts);

    public WeightFormat Format { get; }

    /// <summary>Each part is [outFeatures_i, inFeatures].</summary>
    public IReadOnlyList<Tensor> Parts { get; }

    /// <summary>[outFeatures], or null.</summary>
    public Tensor? Bias { get; }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public DType DType => Parts[0].DType;
}
