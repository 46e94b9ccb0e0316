namespace Hearth.Server.Hosting;

/// <summary>The model's generation_config.json values, used where a request leaves a parameter out (as vLLM does).</summary>
public sealed record SamplingDefaults
{
    public float? Temperature { get; init; }
    public int? TopK { get; init; }
    public float? TopP { get; init; }
    public float? MinP { get; init; }
    public float? RepetitionPenalty { get; init; }
    public int? MaxNewTokens { get; init; }
}
