namespace Hearth.Core.Config;

/// <summary>
/// A model's <c>generation_config.json</c>: the sampling defaults its authors recommend. Every field is
/// optional; null means the file does not set it and the engine's own default applies.
/// </summary>
public sealed record GenerationConfig
{
    public static GenerationConfig Empty { get; } = new();

    /// <summary>Null when unset; otherwise one or more ids.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    public int? BosTokenId { get; init; }

    public int? PadTokenId { get; init; }

    public bool? DoSample { get; init; }

    public double? Temperature { get; init; }

    public int? TopK { get; init; }

    public double? TopP { get; init; }

    public double? MinP { get; init; }

    public double? RepetitionPenalty { get; init; }

    public int? MaxNewTokens { get; init; }
}
