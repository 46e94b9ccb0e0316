namespace Hearth.Models.Synthetic;

/// <summary>The synthetic checkpoints the goldens and benches use; same list as tools/hearth_synthetic.py.</summary>
public static class SyntheticModels
{
    /// <summary>(a) GQA 1, tied, head_dim = hidden/heads, 2 layers, rope_theta 1e4, 4.x config.</summary>
    public static SyntheticModelShape A_Gqa1Tied { get; } = new(
        "a-gqa1-tied", 0xA001, HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: 4, HeadDim: 16,
        IntermediateSize: 128, TieWordEmbeddings: true, RopeTheta: 10000.0, MaxPositionEmbeddings: 256);

    /// <summary>(b) GQA 4, untied, head_dim 32 != 96/8, 3 layers, 4.x config.</summary>
    public static SyntheticModelShape B_Gqa4Untied { get; } = new(
        "b-gqa4-untied", 0xB002, HiddenSize: 96, NumLayers: 3, NumHeads: 8, NumKvHeads: 2, HeadDim: 32,
        IntermediateSize: 256, TieWordEmbeddings: false, RopeTheta: 1000000.0, MaxPositionEmbeddings: 256);

    /// <summary>(c) GQA 8, tied, head_dim 64 != 128/8, 4 layers, rope_theta 1e6, 5.x config (rope_type default).</summary>
    public static SyntheticModelShape C_Gqa8Tied { get; } = new(
        "c-gqa8-tied", 0xC003, HiddenSize: 128, NumLayers: 4, NumHeads: 8, NumKvHeads: 1, HeadDim: 64,
        IntermediateSize: 384, TieWordEmbeddings: true, RopeTheta: 1000000.0, MaxPositionEmbeddings: 512,
        ConfigStyle: SyntheticConfigStyle.Transformers5);

    /// <summary>(d) as (b) with YaRN (factor 4 over 64 original positions), 5.x rope_parameters config.</summary>
    public static SyntheticModelShape D_Gqa4Yarn { get; } = new(
        "d-gqa4-yarn", 0xD004, HiddenSize: 96, NumLayers: 3, NumHeads: 8, NumKvHeads: 2, HeadDim: 32,
        IntermediateSize: 256, TieWordEmbeddings: false, RopeTheta: 1000000.0, MaxPositionEmbeddings: 256,
        ConfigStyle: SyntheticConfigStyle.Transformers5, YarnFactor: 4.0, YarnOriginalMaxPositionEmbeddings: 64);

    /// <summary>Qwen3-0.6B's exact shape (596M weights, tied), for benches.</summary>
    public static SyntheticModelShape Qwen3_0_6B { get; } = new(
        "qwen3-0.6b", 0x0600, HiddenSize: 1024, NumLayers: 28, NumHeads: 16, NumKvHeads: 8, HeadDim: 128,
        IntermediateSize: 3072, TieWordEmbeddings: true, RopeTheta: 1000000.0, MaxPositionEmbeddings: 40960);

    /// <summary>The shapes with HF goldens in tests/goldens/parity/{Name}.json.</summary>
    public static IReadOnlyList<SyntheticModelShape> Parity { get; } = [A_Gqa1Tied, B_Gqa4Untied, C_Gqa8Tied, D_Gqa4Yarn];

    public static IReadOnlyList<SyntheticModelShape> All { get; } = [.. Parity, Qwen3_0_6B];

    /// <summary>Looks a shape up by its name, e.g. "b-gqa4-untied"; null when unknown.</summary>
    public static SyntheticModelShape? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));
}
