using System.Text.Json.Nodes;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>tokenizer.json features the Qwen3 file does not exercise, on small hand-made tokenizers.</summary>
public class TokenizerJsonFeatureTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merges_apply_by_rank_in_string_and_array_form(bool arrayMerges)
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(arrayMerges: arrayMerges));
        // " ab": "a b" (rank 0) merges before "Ġ a" (rank 2) although "Ġ a" is further left.
        Assert.Equal(new[] { TinyTokenizerJson.Abc, ' ', TinyTokenizerJson.Ab }, tok.Encode("abc ab"));
        Assert.Equal(new[] { TinyTokenizerJson.SpaceA, 'x' }, tok.Encode(" ax"));
        Assert.Equal("abc ab", tok.Decode(tok.Encode("abc ab")));
    }

    [Fact]
    public void Ignore_merges_takes_whole_words_from_the_vocabulary()
    {
        Assert.Equal(new[] { 'x', 'y', 'z' }.Select(c => (int)c), Tokenizer.FromJson(TinyTokenizerJson.Build()).Encode("xyz"));
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(ignoreMerges: true));
        Assert.Equal(new[] { TinyTokenizerJson.Xyz }, tok.Encode("xyz"));
    }

    [Fact]
    public void Llama3_pattern_groups_digits_by_three()
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(pattern: Bpe.SplitPattern.Llama3));
        Assert.Equal("12345".Select(c => (int)c), tok.Encode("12345"));
        Assert.Equal(["123", "45"], PreTokenizerGoldenTests.Split(Bpe.SplitPattern.Llama3, "12345"));
    }

    [Fact]
    public void Lstrip_and_rstrip_absorb_neighbouring_whitespace()
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(addedTokens: new JsonArray(
            TinyTokenizerJson.AddedToken(300, "<mask>", lstrip: true, rstrip: true))));
        Assert.Equal([.. tok.Encode("Hi"), 300, .. tok.Encode("there")], tok.Encode("Hi \t<mask>  there"));
        Assert.Equal([300, 300], tok.Encode("<mask> <mask>"));
    }

    [Fact]
    public void Single_word_tokens_match_only_outside_words()
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(addedTokens: new JsonArray(
            TinyTokenizerJson.AddedToken(300, "ony", special: false, singleWord: true))));
        Assert.DoesNotContain(300, tok.Encode("Anthony"));
        Assert.DoesNotContain(300, tok.Encode("onyx"));
        Assert.Equal([.. tok.Encode("Tony,"), 300, .. tok.Encode(".")], tok.Encode("Tony,ony."));
    }

    [Fact]
    public void Normalized_added_tokens_match_the_normalized_text()
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(addedTokens: new JsonArray(
            TinyTokenizerJson.AddedToken(300, "é", special: false, normalized: true),
            TinyTokenizerJson.AddedToken(301, "<x>", special: true, normalized: false))));
        Assert.Equal([.. tok.Encode("caf"), 300, 301], tok.Encode("cafe\u0301<x>"));
        Assert.False(tok.IsSpecial(300));
        Assert.True(tok.IsSpecial(301));
        Assert.Equal(302, tok.VocabSize);
    }

    [Fact]
    public void Leftmost_longest_added_token_wins()
    {
        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(addedTokens: new JsonArray(
            TinyTokenizerJson.AddedToken(300, "<a>"),
            TinyTokenizerJson.AddedToken(301, "<a><b>"),
            TinyTokenizerJson.AddedToken(302, "a><b"))));
        Assert.Equal([301, 300], tok.Encode("<a><b><a>"));
    }
}
