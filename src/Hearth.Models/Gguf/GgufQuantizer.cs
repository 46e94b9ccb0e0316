using Hearth.Models.Quantization;

namespace Hearth.Models.Gguf;

/// <summary>`hearth quantize --to gguf-q8_0|gguf-q4_k_m`: one self-contained .gguf file (see <see cref="GgufConverter"/>).</summary>
public sealed class GgufQuantizer(GgufFileType fileType) : IModelQuantizer
{
    public string Name => fileType == GgufFileType.Q8_0 ? "gguf-q8_0" : "gguf-q4_k_m";

    public string Description => fileType == GgufFileType.Q8_0
        ? "one GGUF file, every matrix Q8_0 (norms F32), tokenizer and chat template embedded"
        : "one GGUF file, llama.cpp's Q4_K_M mix (Q4_K, Q6_K for output/attn_v/ffn_down in some layers), tokenizer embedded";

    public void Quantize(ModelCheckpoint source, string outputPath, IProgress<QuantizeProgress>? progress)
    {
        if (Directory.Exists(outputPath)) outputPath = Path.Combine(outputPath, Path.GetFileName(Path.TrimEndingDirectorySeparator(source.Directory)) + "-" + (fileType == GgufFileType.Q8_0 ? "Q8_0" : "Q4_K_M") + ".gguf");
        GgufConverter.Convert(source, outputPath, fileType,
            progress is null ? null : (done, total, name) => progress.Report(new QuantizeProgress(done, total, name)));
    }
}
