using Hearth.Core;

namespace Hearth.Backends.Cpu.Quant;

/// <summary>The dispatch point from a <see cref="WeightFormat"/> to its CPU kernel.</summary>
internal static class QuantizedKernels
{
    /// <summary>The kernel for a quantized format, or null (Dense parts are run by the dense kernels).</summary>
    public static IQuantizedLinearKernel? For(WeightFormat format) => format switch
    {
        WeightFormat.Int4Group => Int4GroupKernel.Instance,
        WeightFormat.Fp8Block => Fp8BlockKernel.Instance,
        WeightFormat.Q8_0 or WeightFormat.Q4_0 or WeightFormat.Q4_K or WeightFormat.Q5_K or WeightFormat.Q6_K => Gguf.GgufLinearKernel.For(format),
        _ => null,
    };

    public static IQuantizedLinearKernel Require(WeightFormat format) =>
        For(format) ?? throw new HearthException($"the CPU backend cannot run {format} weights yet");
}
