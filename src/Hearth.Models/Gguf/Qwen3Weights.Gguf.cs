using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Models.Qwen3;

// Construction from parts bound elsewhere (a GGUF file), so the GGUF loader need not touch the checkpoint binder.
public sealed partial class Qwen3Weights
{
    internal static Qwen3Weights FromParts(string architecture, ModelConfig config, DType dtype, Tensor embedding,
        IReadOnlyList<Qwen3LayerWeights> layers, Tensor finalNorm, LinearWeight lmHead, List<DeviceBuffer> ownedBuffers,
        QuantizedMatrix? quantizedEmbedding = null) =>
        new(architecture, config, dtype, embedding, layers, finalNorm, lmHead, ownedBuffers, quantization: null)
        {
            QuantizedEmbedding = quantizedEmbedding,
        };
}
