namespace Hearth.Tokenization.Bpe;

/// <summary>What tokenizer.json describes, in the form the tokenizer is built from.</summary>
internal sealed class TokenizerDefinition
{
    public required Dictionary<string, int> Vocab { get; init; }
    public required MergeTable Merges { get; init; }
    public required bool IgnoreMerges { get; init; }
    public required bool Nfc { get; init; }
    public required SplitPattern Pattern { get; init; }
    public required List<AddedTokenSpec> AddedTokens { get; init; }
}
