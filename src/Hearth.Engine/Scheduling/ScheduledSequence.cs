namespace Hearth.Engine.Scheduling;

/// <summary>
/// One sequence's share of a step: it computes tokens StartPosition .. StartPosition + NumNewTokens - 1.
/// SamplesToken is true when that reaches the end of its known tokens, so its last row's logits are sampled;
/// a sequence in the middle of a chunked prefill samples nothing.
/// </summary>
public readonly record struct ScheduledSequence(Sequence Sequence, int NumNewTokens, int StartPosition, bool SamplesToken)
{
    /// <summary>Tokens in the KV cache for this sequence once the step has run.</summary>
    public int SeqLenAfterStep => StartPosition + NumNewTokens;
}
