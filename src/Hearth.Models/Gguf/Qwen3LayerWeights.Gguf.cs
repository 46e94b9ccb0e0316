using Hearth.Backends;

namespace Hearth.Models.Qwen3;

// Construction from parts bound elsewhere (a GGUF file).
public sealed partial class Qwen3LayerWeights
{
    internal static Qwen3LayerWeights FromParts(Tensor inputLayerNorm, LinearWeight qkv, Tensor? queryNorm, Tensor? keyNorm,
        LinearWeight o, Tensor postAttentionLayerNorm, LinearWeight gateUp, LinearWeight down) =>
        new(inputLayerNorm, qkv, queryNorm, keyNorm, o, postAttentionLayerNorm, gateUp, down);
}
