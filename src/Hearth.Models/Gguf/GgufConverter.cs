using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Models.Gguf;

/// <summary>
/// Writes a Hugging Face Qwen3/Qwen2 checkpoint (BF16, F16 or F32) as one self-contained GGUF file: llama.cpp
/// tensor names, the architecture metadata, the tokenizer and chat template, and matrices quantized
/// round-to-nearest by the reference codec, rows in parallel a batch at a time (memory stays at a batch). A matrix whose rows are
/// not whole 256-value super-blocks cannot be a K-quant and falls back as llama.cpp does, but to types Hearth
/// has: Q4_K to Q4_0 (llama.cpp uses Q5_0) and Q5_K/Q6_K to Q8_0; rows not whole 32-blocks stay F16.
/// </summary>
public static class GgufConverter
{
    /// <param name="progress">Called after each tensor with (tensors written, tensors in all, tensor name).</param>
    public static void Convert(ModelCheckpoint checkpoint, string outputPath, GgufFileType fileType,
        Action<int, int, string>? progress = null) => Convert(checkpoint, outputPath, fileType, progress, DefaultBatchBytes);

    private const int DefaultBatchBytes = 64 << 20;

    /// <param name="batchBytes">At most this many bytes of quantized rows are made before they are written (at least a row).</param>
    internal static void Convert(ModelCheckpoint checkpoint, string outputPath, GgufFileType fileType,
        Action<int, int, string>? progress, int batchBytes)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var config = checkpoint.Config;
        var writer = new GgufWriter();
        GgufModelMetadata.Write(writer, config, Path.GetFileName(Path.TrimEndingDirectorySeparator(checkpoint.Directory)));
        writer.Set("general.file_type", GgufValue.UInt32((uint)fileType));
        writer.Set("general.quantization_version", GgufValue.UInt32(2));
        var eos = checkpoint.Generation.EosTokenIds is { Count: > 0 } generationEos ? generationEos : config.EosTokenIds;
        // A folder without a tokenizer (random benchmark models) gives a file that runs on token ids.
        if (File.Exists(Path.Combine(checkpoint.Directory, "tokenizer.json")))
            GgufTokenizerExport.Write(writer, checkpoint.Directory, config.VocabSize, config.BosTokenId ?? checkpoint.Generation.BosTokenId, eos);

        var names = checkpoint.TensorNames.Where(n => GgufTensorNames.FromHuggingFace(n) is not null)
            .OrderBy(n => Order(GgufTensorNames.FromHuggingFace(n)!)).ToList();
        foreach (string unknown in checkpoint.TensorNames.Where(n => GgufTensorNames.FromHuggingFace(n) is null))
        {
            if (unknown.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            throw new HearthException($"tensor '{unknown}' has no GGUF name; only Qwen3/Qwen2 checkpoints can be converted");
        }
        bool hasOutput = names.Contains("lm_head.weight") && !config.TieWordEmbeddings;
        if (!hasOutput) names.Remove("lm_head.weight");
        int done = 0;
        foreach (string name in names)
        {
            var tensor = checkpoint.GetTensor(name);
            if (tensor.DType is not (DType.BF16 or DType.F16 or DType.F32))
                throw new HearthException($"tensor '{name}' is {tensor.DType}; only BF16, F16 or F32 checkpoints can be quantized to GGUF");
            string ggufName = GgufTensorNames.FromHuggingFace(name)!;
            var type = ChooseType(ggufName, tensor.Shape, fileType, config.NumHiddenLayers, hasOutput);
            long[] shape = Enumerable.Range(0, tensor.Shape.Rank).Select(i => (long)tensor.Shape[i]).ToArray();
            writer.AddTensor(ggufName, type, shape, stream =>
            {
                WriteRows(tensor, type, stream, batchBytes);
                progress?.Invoke(++done, names.Count, ggufName);
            });
        }
        writer.Write(outputPath);
    }

    private static int Order(string ggufName) =>
        ggufName == GgufTensorNames.TokenEmbedding ? -1 : ggufName.StartsWith("blk.", StringComparison.Ordinal)
            ? int.Parse(ggufName.AsSpan(4, ggufName.IndexOf('.', 4) - 4), System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue;

    /// <summary>The type a tensor gets in a file type's mix, after the block-size fallbacks.</summary>
    public static GgufTensorType ChooseType(string ggufName, Shape shape, GgufFileType fileType, int numLayers, bool hasOutput)
    {
        if (shape.Rank != 2) return GgufTensorType.F32;
        GgufTensorType wanted;
        if (fileType == GgufFileType.Q8_0) wanted = GgufTensorType.Q8_0;
        else if (ggufName == GgufTensorNames.Output || (!hasOutput && ggufName == GgufTensorNames.TokenEmbedding)) wanted = GgufTensorType.Q6_K;
        else if (ggufName.EndsWith(".attn_v.weight", StringComparison.Ordinal) || ggufName.EndsWith(".ffn_down.weight", StringComparison.Ordinal))
            wanted = UsesMoreBits(LayerIndex(ggufName), numLayers) ? GgufTensorType.Q6_K : GgufTensorType.Q4_K;
        else wanted = GgufTensorType.Q4_K;
        int columns = shape[1];
        if (columns % GgufBlockLayout.BlockElements(wanted) == 0) return wanted;
        var fallback = wanted == GgufTensorType.Q4_K ? GgufTensorType.Q4_0 : GgufTensorType.Q8_0;
        return columns % GgufBlockLayout.BlockElements(fallback) == 0 ? fallback : GgufTensorType.F16;
    }

    // llama.cpp's choice of layers that keep more bits in its _M mixes.
    private static bool UsesMoreBits(int layer, int numLayers) =>
        layer < numLayers / 8 || layer >= 7 * numLayers / 8 || (layer - numLayers / 8) % 3 == 2;

    private static int LayerIndex(string ggufName) =>
        int.Parse(ggufName.AsSpan(4, ggufName.IndexOf('.', 4) - 4), System.Globalization.CultureInfo.InvariantCulture);

    // Rows are quantized in parallel a batch at a time and written in order: one thread took about 190 s for a
    // Qwen3-14B-shaped model's Q4_K_M on the 16-core GPU machine, and the result is the same bytes either way.
    private static unsafe void WriteRows(Tensor tensor, GgufTensorType type, Stream stream, int batchBytes)
    {
        int rows = tensor.Shape.Rank == 1 ? 1 : tensor.Shape[0];
        int columns = tensor.Shape.Rank == 1 ? tensor.Shape[0] : tensor.Shape[1];
        int rowBytes = checked((int)GgufBlockLayout.RowSizeBytes(type, columns));
        int elementBytes = tensor.DType.ElementSizeBytes();
        DType dtype = tensor.DType;
        nint data = tensor.Data;
        int batchRows = Math.Clamp(batchBytes / rowBytes, 1, rows);
        var batch = new byte[(long)batchRows * rowBytes];
        for (int first = 0; first < rows; first += batchRows)
        {
            int count = Math.Min(batchRows, rows - first);
            Parallel.For(0, count, () => new float[columns], (i, _, values) =>
            {
                var source = new ReadOnlySpan<byte>((byte*)data + (long)(first + i) * columns * elementBytes, columns * elementBytes);
                for (int c = 0; c < columns; c++)
                {
                    values[c] = dtype switch
                    {
                        DType.BF16 => BFloat16Bits.ToSingle(MemoryMarshal.Read<ushort>(source[(2 * c)..])),
                        DType.F16 => (float)MemoryMarshal.Read<Half>(source[(2 * c)..]),
                        _ => MemoryMarshal.Read<float>(source[(4 * c)..]),
                    };
                }
                GgufBlockCodec.Quantize(type, values, batch.AsSpan(i * rowBytes, rowBytes));
                return values;
            }, _ => { });
            stream.Write(batch, 0, count * rowBytes);
        }
    }
}
