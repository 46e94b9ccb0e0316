namespace Hearth.Tokenization.Bpe;

/// <summary>One entry of tokenizer.json's added_tokens (or tokenizer_config.json's added_tokens_decoder).</summary>
internal sealed record AddedTokenSpec(
    int Id, string Content, bool Special, bool SingleWord, bool LeftStrip, bool RightStrip, bool Normalized);
