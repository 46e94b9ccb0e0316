using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Qwen3;

namespace Hearth.Models.Gguf;

/// <summary>
/// Binds a qwen3/qwen2 GGUF file's tensors (llama.cpp names) to a backend as <see cref="Qwen3Weights"/>. Quantized
/// matrices are passed as raw blocks (<see cref="QuantizedMatrix.Gguf"/>), zero-copy on the CPU, and fused
/// q|k|v and gate|up whatever their types. A quantized token_embd stays quantized too: the embedding lookup
/// dequantizes only the rows it gathers, and a tied lm_head multiplies the same blocks.
/// Keep the file open while the weights are used.
/// </summary>
public static class GgufQwen3Loader
{
    public static Qwen3Weights Load(GgufFile file, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(backend);
        var config = GgufModelMetadata.ReadConfig(file);
        var binder = new Binder(file, backend);
        try
        {
            int hidden = config.HiddenSize;
            var (embedding, embeddingDType, quantizedEmbedding) = binder.EmbeddingTable(config.VocabSize, hidden);
            var layers = new Qwen3LayerWeights[config.NumHiddenLayers];
            for (int i = 0; i < layers.Length; i++) layers[i] = LoadLayer(binder, config, i);
            var finalNorm = binder.Plain(GgufTensorNames.OutputNorm, new Shape(hidden));
            var lmHead = binder.Linear(null, config.TieWordEmbeddings ? GgufTensorNames.TokenEmbedding : GgufTensorNames.Output,
                config.VocabSize, hidden);
            return Qwen3Weights.FromParts(config.Architectures[0], config, embeddingDType, embedding, layers, finalNorm, lmHead,
                binder.OwnedBuffers, quantizedEmbedding);
        }
        catch
        {
            foreach (var buffer in binder.OwnedBuffers) buffer.Dispose();
            throw;
        }
    }

    private static Qwen3LayerWeights LoadLayer(Binder b, ModelConfig c, int layer)
    {
        int qOut = c.NumAttentionHeads * c.HeadDim, kvOut = c.NumKeyValueHeads * c.HeadDim, hidden = c.HiddenSize;
        string Name(string part, string suffix = "weight") => GgufTensorNames.Layer(layer, part, suffix);
        Tensor? qkvBias = c.AttentionBias
            ? b.ConcatenatedBias(Name("attn_q", "bias"), qOut, Name("attn_k", "bias"), kvOut, Name("attn_v", "bias"), kvOut)
            : null;
        bool isQwen3 = c.ModelType == "qwen3";
        Tensor? oBias = isQwen3 && c.AttentionBias ? b.Plain(Name("attn_output", "bias"), new Shape(hidden)) : null;
        return Qwen3LayerWeights.FromParts(
            b.Plain(Name("attn_norm"), new Shape(hidden)),
            b.Linear(qkvBias, [(Name("attn_q"), qOut), (Name("attn_k"), kvOut), (Name("attn_v"), kvOut)], hidden),
            isQwen3 ? b.Plain(Name("attn_q_norm"), new Shape(c.HeadDim)) : null,
            isQwen3 ? b.Plain(Name("attn_k_norm"), new Shape(c.HeadDim)) : null,
            b.Linear(oBias, Name("attn_output"), hidden, qOut),
            b.Plain(Name("ffn_norm"), new Shape(hidden)),
            b.Linear(null, [(Name("ffn_gate"), c.IntermediateSize), (Name("ffn_up"), c.IntermediateSize)], hidden),
            b.Linear(null, Name("ffn_down"), hidden, c.IntermediateSize));
    }

    private sealed unsafe class Binder(GgufFile file, IBackend backend)
    {
        public List<DeviceBuffer> OwnedBuffers { get; } = [];

        private GgufTensorInfo Info(string name, Shape expected)
        {
            if (!file.TryGetInfo(name, out var info)) throw new HearthException($"tensor '{name}' is missing from {file.Path}");
            if (!GgufBlockLayout.IsSupported(info.Type))
                throw new HearthException($"tensor '{name}' in {file.Path}: {GgufBlockLayout.Unsupported(info.Type).Message}");
            if (info.Shape != expected)
                throw new HearthException($"tensor '{name}' has shape {info.Shape}, but the GGUF metadata implies {expected} (in {file.Path})");
            return info;
        }

        public Tensor Plain(string name, Shape expected) => backend.UploadWeight(file.GetPlainTensor(Info(name, expected)));

        public LinearWeight Linear(Tensor? bias, string name, int outFeatures, int inFeatures) =>
            Linear(bias, [(name, outFeatures)], inFeatures);

        /// <summary>Fused parts: plain tensors of one dtype take the dense path; anything else the quantized one.</summary>
        public LinearWeight Linear(Tensor? bias, (string Name, int OutFeatures)[] parts, int inFeatures)
        {
            var infos = parts.Select(p => Info(p.Name, new Shape(p.OutFeatures, inFeatures))).ToArray();
            if (infos.All(i => !GgufBlockLayout.IsQuantized(i.Type)) && infos.Select(i => i.Type).Distinct().Count() == 1)
                return new LinearWeight(WeightFormat.Dense, backend.UploadFusedWeight(infos.Select(file.GetPlainTensor).ToArray()), bias);
            var matrices = new QuantizedMatrix[infos.Length];
            for (int p = 0; p < infos.Length; p++)
            {
                var info = infos[p];
                var format = GgufWeightFormats.ToWeightFormat(info.Type);
                matrices[p] = format is { } f
                    ? backend.UploadQuantized(QuantizedMatrix.Gguf(f, parts[p].OutFeatures, inFeatures,
                        new Tensor(file.GetData(info), DType.U8, new Shape(parts[p].OutFeatures, checked((int)GgufBlockLayout.RowSizeBytes(info.Type, inFeatures))))))
                    : backend.UploadQuantized(QuantizedMatrix.Dense(file.GetPlainTensor(info)));
            }
            return new LinearWeight(matrices, bias);
        }

        public (Tensor Table, DType DType, QuantizedMatrix? Quantized) EmbeddingTable(int vocab, int hidden)
        {
            var info = Info(GgufTensorNames.TokenEmbedding, new Shape(vocab, hidden));
            if (!GgufBlockLayout.IsQuantized(info.Type))
            {
                var plain = file.GetPlainTensor(info);
                return (backend.UploadWeight(plain), plain.DType, null);
            }
            var format = GgufWeightFormats.ToWeightFormat(info.Type) ?? throw GgufBlockLayout.Unsupported(info.Type);
            var blocks = new Tensor(file.GetData(info), DType.U8, new Shape(vocab, checked((int)GgufBlockLayout.RowSizeBytes(info.Type, hidden))));
            var table = backend.UploadQuantized(QuantizedMatrix.Gguf(format, vocab, hidden, blocks));
            // Norms and biases of a GGUF file are F32; that is the dtype of its unquantized weights.
            return (table.Data, DType.F32, table);
        }

        public Tensor ConcatenatedBias(string q, int qLength, string k, int kLength, string v, int vLength)
        {
            var parts = new[] { (q, qLength), (k, kLength), (v, vLength) };
            var values = new List<float>();
            foreach (var (name, length) in parts)
            {
                var info = Info(name, new Shape(length));
                var decoded = new float[length];
                GgufBlockCodec.Dequantize(info.Type, file.GetBytes(info), decoded);
                values.AddRange(decoded);
            }
            var buffer = backend.Allocate(values.Count * sizeof(float));
            OwnedBuffers.Add(buffer);
            var tensor = buffer.AsTensor(DType.F32, new Shape(values.Count));
            backend.CopyToDevice<float>(values.ToArray(), tensor);
            return tensor;
        }
    }
}
