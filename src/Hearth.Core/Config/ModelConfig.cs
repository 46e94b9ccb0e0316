namespace Hearth.Core.Config;

/// <summary>The parts of a Hugging Face <c>config.json</c> that the engine uses, immutable once parsed.</summary>
public sealed record ModelConfig
{
    public IReadOnlyList<string> Architectures { get; init; } = [];

    public string ModelType { get; init; } = "";

    public int HiddenSize { get; init; }

    public int IntermediateSize { get; init; }

    public int NumHiddenLayers { get; init; }

    public int NumAttentionHeads { get; init; }

    /// <summary>Defaults to NumAttentionHeads (no grouped-query attention).</summary>
    public int NumKeyValueHeads { get; init; }

    /// <summary>Qwen3 sets it explicitly, and then HeadDim · NumAttentionHeads may differ from HiddenSize.</summary>
    public int HeadDim { get; init; }

    public int VocabSize { get; init; }

    public int MaxPositionEmbeddings { get; init; }

    public double RmsNormEpsilon { get; init; } = 1e-6;

    public bool TieWordEmbeddings { get; init; }

    /// <summary>Whether q/k/v (and o) projections carry biases; Qwen2 has q/k/v biases without saying so.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>The weights' dtype as the config states it (<c>dtype</c> or <c>torch_dtype</c>); null when absent.</summary>
    public DType? DType { get; init; }

    public int? BosTokenId { get; init; }

    /// <summary>One id or several; empty when the config names none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public RopeConfig Rope { get; init; } = new();
}
