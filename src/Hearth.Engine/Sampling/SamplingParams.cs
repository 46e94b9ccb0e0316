using Hearth.Core;

namespace Hearth.Engine.Sampling;

/// <summary>
/// How one request picks its next token, with vLLM's meanings: temperature 0 is greedy; TopK 0 (or
/// below) and TopP 1 disable those filters; penalties of 1 (repetition) and 0 (presence, frequency) are off.
/// </summary>
public sealed record SamplingParams
{
    public float Temperature { get; init; } = 1.0f;
    public int TopK { get; init; }
    public float TopP { get; init; } = 1.0f;
    public float MinP { get; init; }
    /// <summary>HF-style: divides positive and multiplies negative logits of every prompt or output token.</summary>
    public float RepetitionPenalty { get; init; } = 1.0f;
    /// <summary>OpenAI-style: subtracted once from the logit of every token already in the output.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>OpenAI-style: subtracted per occurrence in the output.</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>Makes sampling reproducible for this request; null draws a random seed.</summary>
    public ulong? Seed { get; init; }
    /// <summary>How many top logprobs to report per generated token; 0 reports only the chosen token's.</summary>
    public int TopLogprobs { get; init; }

    public bool IsGreedy => Temperature < 1e-5f;

    /// <summary>Throws a HearthException naming the first out-of-range parameter.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) throw new HearthException($"temperature must be >= 0, got {Temperature}");
        if (!(TopP > 0 && TopP <= 1)) throw new HearthException($"top_p must be in (0, 1], got {TopP}");
        if (!(MinP >= 0 && MinP <= 1)) throw new HearthException($"min_p must be in [0, 1], got {MinP}");
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty)) throw new HearthException($"repetition_penalty must be > 0, got {RepetitionPenalty}");
        if (!(PresencePenalty >= -2 && PresencePenalty <= 2)) throw new HearthException($"presence_penalty must be in [-2, 2], got {PresencePenalty}");
        if (!(FrequencyPenalty >= -2 && FrequencyPenalty <= 2)) throw new HearthException($"frequency_penalty must be in [-2, 2], got {FrequencyPenalty}");
        if (TopLogprobs < 0 || TopLogprobs > 20) throw new HearthException($"top_logprobs must be in [0, 20], got {TopLogprobs}");
    }
}
