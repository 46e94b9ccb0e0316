using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Quantization;

namespace Hearth.Models.Qwen3;

/// <summary>
/// A Qwen3 (or Qwen2) checkpoint's weights bound to a backend: every tensor checked against the config and
/// passed through <see cref="IBackend.UploadWeight"/>, projections fused without copying (q|k|v, gate|up).
/// On the CPU backend the tensors still point into the checkpoint's mapping, so keep the checkpoint open
/// as long as these weights are used. Disposing frees the buffers built here (Qwen2's fused q|k|v bias, and
/// AWQ/GPTQ weights repacked into Hearth's Int4Group layout).
/// AWQ, GPTQ and FP8 checkpoints (config.json quantization_config) bind their projections as
/// <see cref="QuantizedMatrix"/> parts; embeddings, norms and any module stored as a plain ".weight" keep
/// the single-dtype rule.
/// </summary>
public sealed partial class Qwen3Weights : IDisposable
{
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["Qwen3ForCausalLM", "Qwen2ForCausalLM"];

    private readonly List<DeviceBuffer> _ownedBuffers;

    private Qwen3Weights(string architecture, ModelConfig config, DType dtype, Tensor embedding,
        IReadOnlyList<Qwen3LayerWeights> layers, Tensor finalNorm, LinearWeight lmHead, List<DeviceBuffer> ownedBuffers,
        QuantizationConfig? quantization)
    {
        Quantization = quantization;
        Architecture = architecture;
        Config = config;
        DType = dtype;
        Embedding = embedding;
        Layers = layers;
        FinalNorm = finalNorm;
        LmHead = lmHead;
        _ownedBuffers = ownedBuffers;
    }

    public string Architecture { get; }

    /// <summary>The checkpoint's quantization_config; null for an unquantized checkpoint.</summary>
    public QuantizationConfig? Quantization { get; }

    public ModelConfig Config { get; }

    /// <summary>The one dtype all unquantized weights share: BF16, F16 or F32.</summary>
    public DType DType { get; }

    /// <summary>[vocab, hidden]; the raw blocks [vocab, rowBytes] when <see cref="QuantizedEmbedding"/> is set.</summary>
    public Tensor Embedding { get; }

    /// <summary>A quantized token embedding table (GGUF), looked up row by row; null when the table is plain.</summary>
    public QuantizedMatrix? QuantizedEmbedding { get; private init; }

    public IReadOnlyList<Qwen3LayerWeights> Layers { get; }

    /// <summary>[hidden]</summary>
    public Tensor FinalNorm { get; }

    /// <summary>[vocab, hidden]; the embedding table itself when tie_word_embeddings is set.</summary>
    public LinearWeight LmHead { get; }

    /// <summary>Qwen3 normalizes each query and key head before RoPE; Qwen2 does not.</summary>
    public bool HasQkNorm => Architecture == "Qwen3ForCausalLM";

    public static Qwen3Weights Load(ModelCheckpoint checkpoint, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(backend);
        var config = checkpoint.Config;
        string architecture = ResolveArchitecture(config, checkpoint.Directory);
        var quantization = QuantizationConfig.Load(Path.Combine(checkpoint.Directory, "config.json"));
        var binder = new Binder(checkpoint, backend, architecture, quantization);
        try
        {
            var embedding = binder.EmbeddingTable("model.embed_tokens.weight", new Shape(config.VocabSize, config.HiddenSize), config.TieWordEmbeddings);
            var layers = new Qwen3LayerWeights[config.NumHiddenLayers];
            for (int i = 0; i < layers.Length; i++) layers[i] = Qwen3LayerWeights.Load(binder, i);
            var finalNorm = binder.Weight("model.norm.weight", new Shape(config.HiddenSize));
            var lmHead = config.TieWordEmbeddings
                ? LinearWeight.Dense(embedding)
                : binder.Linear(null, ("lm_head", config.VocabSize, config.HiddenSize));
            return new Qwen3Weights(architecture, config, binder.DType!.Value, embedding, layers, finalNorm,
                lmHead, binder.OwnedBuffers, quantization);
        }
        catch
        {
            foreach (var buffer in binder.OwnedBuffers) buffer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether an untied input embedding goes to page-locked host memory on CUDA: the override ("1" or "0") when set,
    /// otherwise only for quantized checkpoints (see <see cref="Binder.EmbeddingTable"/>).
    /// </summary>
    internal static bool EmbeddingOnHost(string? overrideValue, bool quantized) => overrideValue switch
    {
        "1" => true,
        "0" => false,
        _ => quantized,
    };

    private static string ResolveArchitecture(ModelConfig config, string directory)
    {
        foreach (string name in config.Architectures)
            if (SupportedArchitectures.Contains(name)) return name;
        // Some hand-made configs only give model_type.
        if (config.Architectures.Count == 0)
        {
            if (config.ModelType == "qwen3") return "Qwen3ForCausalLM";
            if (config.ModelType == "qwen2") return "Qwen2ForCausalLM";
        }
        string found = config.Architectures.Count == 0
            ? $"model_type '{config.ModelType}'"
            : "architecture " + string.Join(", ", config.Architectures.Select(a => $"'{a}'"));
        throw new HearthException(
            $"unsupported {found} in {Path.Combine(directory, "config.json")}; supported: {string.Join(", ", SupportedArchitectures)}");
    }

    public void Dispose()
    {
        foreach (var buffer in _ownedBuffers) buffer.Dispose();
        _ownedBuffers.Clear();
    }

    /// <summary>Fetches, checks and uploads tensors for one load, enforcing a single weight dtype.</summary>
    internal sealed class Binder(ModelCheckpoint checkpoint, IBackend backend, string architecture, QuantizationConfig? quantization)
    {
        private string? _firstName;

        public ModelConfig Config => checkpoint.Config;

        public DType? DType { get; private set; }

        public List<DeviceBuffer> OwnedBuffers { get; } = [];

        public bool HasQkNorm => architecture == "Qwen3ForCausalLM";

        /// <summary>Qwen2 always has q/k/v biases; Qwen3 only with attention_bias.</summary>
        public bool HasQkvBias => architecture == "Qwen2ForCausalLM" || Config.AttentionBias;

        public bool HasOutputBias => architecture == "Qwen3ForCausalLM" && Config.AttentionBias;

        public Tensor Weight(string name, Shape expected) => backend.UploadWeight(Host(name, expected));

        /// <summary>
        /// On CUDA the untied input embedding of a quantized checkpoint stays in page-locked host memory (only
        /// looked-up rows cross PCIe), saving its whole size in GPU memory: such a model is quantized to fit a small
        /// card. A bf16 checkpoint keeps it on the GPU, since a 2,048-token prefill reading its rows over PCIe costs
        /// milliseconds. HEARTH_CUDA_HOST_EMBEDDING=1 or 0 forces either placement.
        /// </summary>
        public Tensor EmbeddingTable(string name, Shape expected, bool tied) =>
            backend is Hearth.Backends.Cuda.CudaBackend cuda && !tied && EmbeddingOnHost(Environment.GetEnvironmentVariable("HEARTH_CUDA_HOST_EMBEDDING"), quantization is not null)
                ? cuda.UploadHostResident(Host(name, expected))
                : Weight(name, expected);

        /// <summary>
        /// A projection fused from the given modules ("model.layers.0.self_attn.q_proj", out, in): dense parts
        /// for an unquantized checkpoint, otherwise each module read in its quantized form where it has one.
        /// </summary>
        public LinearWeight Linear(Tensor? bias, params (string Module, int Out, int In)[] modules)
        {
            if (quantization is null)
                return new LinearWeight(WeightFormat.Dense, backend.UploadFusedWeight(modules.Select(m => Host(m.Module + ".weight", new Shape(m.Out, m.In))).ToArray()), bias);
            var parts = new QuantizedMatrix[modules.Length];
            bool anyQuantized = false;
            for (int i = 0; i < modules.Length; i++)
            {
                var (module, outFeatures, inFeatures) = modules[i];
                var host = QuantizedLinearReader.TryRead(checkpoint, quantization, module, outFeatures, inFeatures, OwnedBuffers);
                anyQuantized |= host is not null;
                parts[i] = host is null
                    ? QuantizedMatrix.Dense(Weight(module + ".weight", new Shape(outFeatures, inFeatures)))
                    : backend.UploadQuantized(host);
            }
            return anyQuantized ? new LinearWeight(parts, bias) : new LinearWeight(WeightFormat.Dense, parts.Select(p => p.Data).ToArray(), bias);
        }

        /// <summary>
        /// Copies separate bias vectors into one backend buffer, since a fused projection takes a single bias and
        /// checkpoints store them apart. Biases are tiny, so this copy is not the whole-tensor copy we avoid.
        /// </summary>
        public unsafe Tensor ConcatenatedBias(params (string Name, int Length)[] parts)
        {
            int total = parts.Sum(p => p.Length);
            var hosts = parts.Select(p => Host(p.Name, new Shape(p.Length))).ToArray();
            int elementBytes = DType!.Value.ElementSizeBytes();
            var buffer = backend.Allocate((long)total * elementBytes);
            OwnedBuffers.Add(buffer);
            long offsetBytes = 0;
            foreach (var host in hosts)
            {
                var destination = new Tensor(buffer.Data + (nint)offsetBytes, Hearth.Core.DType.U8, new Shape(checked((int)host.SizeBytes)));
                backend.CopyToDevice(new ReadOnlySpan<byte>((void*)host.Data, (int)host.SizeBytes), destination);
                offsetBytes += host.SizeBytes;
            }
            return buffer.AsTensor(DType.Value, new Shape(total));
        }

        private Tensor Host(string name, Shape expected)
        {
            var tensor = checkpoint.GetTensor(name);
            if (tensor.Shape != expected)
                throw new HearthException(
                    $"tensor '{name}' has shape {tensor.Shape}, but config.json implies {expected} (in {checkpoint.Directory})");
            if (DType is null)
            {
                if (tensor.DType is not (Hearth.Core.DType.BF16 or Hearth.Core.DType.F16 or Hearth.Core.DType.F32))
                    throw new HearthException($"tensor '{name}' is {tensor.DType}; Qwen3 weights must be BF16, F16 or F32 for now");
                DType = tensor.DType;
                _firstName = name;
            }
            else if (tensor.DType != DType)
            {
                throw new HearthException(
                    $"mixed weight dtypes: '{name}' is {tensor.DType} but '{_firstName}' is {DType}; convert the checkpoint to one dtype");
            }
            return tensor;
        }
    }
}
