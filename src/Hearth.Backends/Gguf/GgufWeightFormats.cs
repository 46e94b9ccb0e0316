namespace Hearth.Backends.Gguf;

/// <summary>Maps GGUF tensor types to the <see cref="WeightFormat"/> a quantized linear part is run as.</summary>
public static class GgufWeightFormats
{
    /// <summary>The format of a quantized GGUF type, or null for plain and unsupported types.</summary>
    public static WeightFormat? ToWeightFormat(GgufTensorType type) => type switch
    {
        GgufTensorType.Q8_0 => WeightFormat.Q8_0,
        GgufTensorType.Q4_0 => WeightFormat.Q4_0,
        GgufTensorType.Q4_K => WeightFormat.Q4_K,
        GgufTensorType.Q5_K => WeightFormat.Q5_K,
        GgufTensorType.Q6_K => WeightFormat.Q6_K,
        _ => null,
    };

    public static GgufTensorType ToTensorType(WeightFormat format) => format switch
    {
        WeightFormat.Q8_0 => GgufTensorType.Q8_0,
        WeightFormat.Q4_0 => GgufTensorType.Q4_0,
        WeightFormat.Q4_K => GgufTensorType.Q4_K,
        WeightFormat.Q5_K => GgufTensorType.Q5_K,
        WeightFormat.Q6_K => GgufTensorType.Q6_K,
        _ => throw new ArgumentException($"{format} is not a GGUF block format"),
    };
}
