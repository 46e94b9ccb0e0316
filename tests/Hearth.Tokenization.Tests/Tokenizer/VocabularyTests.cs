namespace Hearth.Tokenization.Tests.Tokenizing;

public class VocabularyTests
{
    private static Tokenizer Tok => QwenTokenizer.Instance;

    [Fact]
    public void Vocab_size_covers_vocabulary_and_added_tokens()
    {
        Assert.Equal(151669, Tok.VocabSize);   // 151,643 BPE tokens + 26 added tokens
    }

    [Fact]
    public void Added_tokens_are_looked_up_by_content()
    {
        Assert.Equal(151645, Tok.TokenToId("<|im_end|>"));
        Assert.Equal("<|im_end|>", Tok.IdToToken(151645));
        Assert.Equal(151667, Tok.TokenToId("<think>"));
    }

    [Fact]
    public void Vocabulary_tokens_use_the_byte_level_form()
    {
        Assert.Equal(" world", Tok.Decode([Tok.TokenToId("Ġworld")!.Value]));
        Assert.Equal("Ġworld", Tok.IdToToken(Tok.TokenToId("Ġworld")!.Value));
        Assert.Null(Tok.TokenToId("no such token at all"));
        Assert.Null(Tok.IdToToken(-1));
        Assert.Null(Tok.IdToToken(Tok.VocabSize));
    }

    [Fact]
    public void Special_flag_follows_added_tokens()
    {
        Assert.True(Tok.IsSpecial(151643));    // <|endoftext|>
        Assert.True(Tok.IsSpecial(151644));    // <|im_start|>
        Assert.False(Tok.IsSpecial(151667));   // <think> is an added token but not special
        Assert.False(Tok.IsSpecial(9707));     // "Hello"
        Assert.False(Tok.IsSpecial(-5));
    }

    [Fact]
    public void Added_token_bytes_are_their_content()
    {
        var bytes = new List<byte>();
        Tok.AppendTokenBytes(151644, bytes);
        Assert.Equal("<|im_start|>"u8.ToArray(), bytes);
    }
}
