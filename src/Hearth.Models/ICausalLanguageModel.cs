using Hearth.Backends;
using Hearth.Core.Config;

namespace Hearth.Models;

/// <summary>A decoder-only model that turns one step's tokens into next-token logits, reading and writing a paged KV cache.</summary>
public interface ICausalLanguageModel : IDisposable
{
    ModelConfig Config { get; }

    int VocabSize { get; }

    /// <summary>The most tokens one <see cref="Forward"/> call accepts.</summary>
    int MaxTokensPerStep { get; }

    /// <summary>The most logit rows one <see cref="Forward"/> call returns.</summary>
    int MaxLogitRows { get; }

    /// <summary>
    /// Runs the model over <paramref name="tokenIds"/> [tokens] I32 laid out as <paramref name="metadata"/>
    /// describes, writing their keys and values into <paramref name="kvCache"/>, and returns the F32 logits
    /// [rows, vocab] of the token rows listed in <paramref name="logitRows"/> [rows] I32. The returned view
    /// is valid until the next call. With <paramref name="greedyIds"/> [rows] I32, each row's argmax (the lowest
    /// id among ties) is also written there by the backend, fused into the last projection where it can be.
    /// </summary>
    Tensor Forward(Tensor tokenIds, AttentionMetadata metadata, Tensor logitRows, IReadOnlyList<KvCacheLayer> kvCache, Tensor? greedyIds = null);
}
