namespace Hearth.Backends.Cuda;

/// <summary>
/// The activation quantization of W8A8 FP8 (fp8_act_quant in gemm_quant.cu), on the host: each row's k-groups of
/// <c>group</c> values get an F32 scale amax / 448 (1 for an all-zero group) and e4m3 values x · (448 / amax),
/// rounded to nearest even and saturating as <see cref="Float8E4M3.FromSingle"/> does. The same float operations
/// in the same order as the kernel, so a reference built on it reproduces the GPU's activations bit for bit.
/// </summary>
public static class Fp8ActivationQuantizer
{
    /// <summary>The largest finite e4m3 value: a group's amax maps onto it.</summary>
    public const float MaxE4M3 = 448f;

    /// <summary>Quantizes one row. <paramref name="quantized"/> [k] e4m3 bytes, <paramref name="scales"/> [k / group].</summary>
    public static void QuantizeRow(ReadOnlySpan<float> row, int group, Span<byte> quantized, Span<float> scales)
    {
        if (group <= 0 || row.Length % group != 0) throw new ArgumentException($"a row of {row.Length} values is not whole groups of {group}");
        if (quantized.Length < row.Length || scales.Length < row.Length / group) throw new ArgumentException("output spans are too short");
        for (int g = 0; g < row.Length / group; g++)
        {
            var values = row.Slice(g * group, group);
            float amax = 0f;
            foreach (float v in values) amax = MathF.Max(amax, MathF.Abs(v));
            float inverse = amax > 0f ? MaxE4M3 / amax : 0f;
            for (int i = 0; i < group; i++) quantized[g * group + i] = Float8E4M3.FromSingle(values[i] * inverse);
            scales[g] = amax > 0f ? amax / MaxE4M3 : 1f;
        }
    }
}
