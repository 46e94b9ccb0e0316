namespace Hearth.Engine.Sampling;

/// <summary>
/// Restricts which tokens a request may generate next (structured output). One instance serves one request:
/// the engine masks each step's logits through it before sampling and then reports the token it sampled.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Sets the logit of every token that may not come next to negative infinity. logits: [vocab].</summary>
    /// <param name="endTokenIds">Tokens that would end the request here (eos, stop_token_ids); a constraint that is satisfied allows only these.</param>
    void MaskLogits(Span<float> logits, ReadOnlySpan<int> endTokenIds);

    /// <summary>Advances past the token that was sampled.</summary>
    void Accept(int tokenId);
}
