namespace Hearth.Backends;

/// <summary>Facts about each <see cref="WeightFormat"/> that loaders, writers and kernels share.</summary>
public static class WeightFormats
{
    /// <summary>Weights per GGUF block (32 or 256); 0 for formats that are not GGUF blocks.</summary>
    public static int GgufBlockElements(this WeightFormat format) => format switch
    {
        WeightFormat.Q8_0 or WeightFormat.Q4_0 => 32,
        WeightFormat.Q4_K or WeightFormat.Q5_K or WeightFormat.Q6_K => 256,
        _ => 0,
    };

    /// <summary>Bytes per GGUF block; 0 for formats that are not GGUF blocks.</summary>
    public static int GgufBlockBytes(this WeightFormat format) => format switch
    {
        WeightFormat.Q8_0 => 34,
        WeightFormat.Q4_0 => 18,
        WeightFormat.Q4_K => 144,
        WeightFormat.Q5_K => 176,
        WeightFormat.Q6_K => 210,
        _ => 0,
    };

    public static bool IsGguf(this WeightFormat format) => format.GgufBlockElements() != 0;
}
