namespace Hearth.Models.Quantization;

/// <summary>
/// Turns an unquantized (BF16/F16/F32) checkpoint into one quantized format; `hearth quantize --to NAME`
/// runs the quantizer whose <see cref="Name"/> matches. Register new ones in <see cref="ModelQuantizers"/>.
/// </summary>
public interface IModelQuantizer
{
    /// <summary>The --to value, e.g. "awq-int4".</summary>
    string Name { get; }

    /// <summary>One line for --help.</summary>
    string Description { get; }

    /// <summary>Writes the quantized model to outputPath (a folder, or a file for single-file formats).</summary>
    void Quantize(ModelCheckpoint source, string outputPath, IProgress<QuantizeProgress>? progress);
}
