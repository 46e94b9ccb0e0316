using Hearth.Core;

namespace Hearth.Models.Quantization;

/// <summary>Every quantizer `hearth quantize` offers, one line each.</summary>
public static class ModelQuantizers
{
    public static IReadOnlyList<IModelQuantizer> All { get; } =
    [
        new SafetensorsQuantizer(QuantizationMethod.Awq),
        new SafetensorsQuantizer(QuantizationMethod.Gptq),
        new SafetensorsQuantizer(QuantizationMethod.Fp8),
        new Gguf.GgufQuantizer(Gguf.GgufFileType.Q8_0), new Gguf.GgufQuantizer(Gguf.GgufFileType.Q4_K_M),
    ];

    public static IModelQuantizer Find(string name) =>
        All.FirstOrDefault(q => string.Equals(q.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new HearthException($"unknown quantization format '{name}'; choose one of {string.Join(", ", All.Select(q => q.Name))}");
}
