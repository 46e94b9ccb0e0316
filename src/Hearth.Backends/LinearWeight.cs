using Hearth.Core;

namespace Hearth.Backends;

/// <summary>
/// The weight of y = x·Wᵀ (+ b). A fused projection (q|k|v, gate|up) is several parts whose output
/// columns are concatenated in order, so checkpoints are fused without copying them. Parts are either all
/// dense tensors (<see cref="Parts"/>) or all <see cref="QuantizedMatrix"/> (<see cref="QuantizedParts"/>),
/// whose formats may differ from part to part.
/// </summary>
public sealed class LinearWeight
{
    public LinearWeight(WeightFormat format, IReadOnlyList<Tensor> parts, Tensor? bias = null)
    {
        if (format != WeightFormat.Dense)
            throw new ArgumentException($"{format} weights are built from QuantizedMatrix parts, not plain tensors");
        if (parts.Count == 0) throw new ArgumentException("a linear weight needs at least one part");
        int inFeatures = parts[0].Shape.Rank == 2 ? parts[0].Shape[1] : -1;
        int outFeatures = 0;
        foreach (var part in parts)
        {
            if (part.Shape.Rank != 2 || part.Shape[1] != inFeatures)
                throw new ArgumentException($"part {part.Shape} does not have {inFeatures} input features");
            outFeatures += part.Shape[0];
        }
        CheckBias(bias, outFeatures);
        Format = format;
        Parts = parts;
        QuantizedParts = [];
        Bias = bias;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    public LinearWeight(IReadOnlyList<QuantizedMatrix> parts, Tensor? bias = null)
    {
        if (parts.Count == 0) throw new ArgumentException("a linear weight needs at least one part");
        int inFeatures = parts[0].InFeatures;
        int outFeatures = 0;
        var format = parts[0].Format;
        foreach (var part in parts)
        {
            if (part.InFeatures != inFeatures)
                throw new ArgumentException($"part {part} does not have {inFeatures} input features");
            if (part.Format != format) format = WeightFormat.Mixed;
            outFeatures += part.OutFeatures;
        }
        CheckBias(bias, outFeatures);
        Format = format;
        Parts = [];
        QuantizedParts = parts;
        Bias = bias;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    public static LinearWeight Dense(params Tensor[] parts) => new(WeightFormat.Dense, parts);

    public static LinearWeight Quantized(params QuantizedMatrix[] parts) => new(parts);

    /// <summary>Dense when built from tensors; otherwise the parts' common format, or Mixed.</summary>
    public WeightFormat Format { get; }

    /// <summary>True when the parts are <see cref="QuantizedMatrix"/> (even Dense ones fused with quantized parts).</summary>
    public bool IsQuantized => QuantizedParts.Count > 0;

    /// <summary>Dense parts, each [outFeatures_i, inFeatures]; empty when <see cref="IsQuantized"/>.</summary>
    public IReadOnlyList<Tensor> Parts { get; }

    /// <summary>Quantized parts in output order; empty for dense weights.</summary>
    public IReadOnlyList<QuantizedMatrix> QuantizedParts { get; }

    /// <summary>[outFeatures], or null.</summary>
    public Tensor? Bias { get; }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>
    /// True when the dense parts lie back to back in memory (one [OutFeatures, InFeatures] matrix, as
    /// <see cref="IBackend.UploadFusedWeight"/> places them on a GPU), so that one product covers every part.
    /// </summary>
    public bool PartsAreContiguous
    {
        get
        {
            if (Parts.Count == 0) return false;
            for (int p = 1; p < Parts.Count; p++)
                if (Parts[p].DType != Parts[0].DType || Parts[p].Data != Parts[p - 1].Data + (nint)Parts[p - 1].SizeBytes) return false;
            return true;
        }
    }

    /// <summary>The dense parts' dtype, or the first quantized part's data dtype.</summary>
    public DType DType => IsQuantized ? QuantizedParts[0].Data.DType : Parts[0].DType;

    private static void CheckBias(Tensor? bias, int outFeatures)
    {
        if (bias is { } b && b.NumElements != outFeatures)
            throw new ArgumentException($"bias has {b.NumElements} elements, expected {outFeatures}");
    }
}
