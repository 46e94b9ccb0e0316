using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

public class DecodeTests
{
    private static Tokenizer Tok => QwenTokenizer.Instance;

    internal static int ByteToken(byte b) => Tok.TokenToId(ByteLevelAlphabet.ByteToChar(b).ToString())!.Value;

    // Expected strings are Python's bytes.decode("utf-8", "replace"), which like Rust's from_utf8_lossy
    // replaces each maximal invalid subpart with one U+FFFD.
    [Theory]
    [InlineData(new byte[] { 0xE4, 0xB8, 0x61 }, "\uFFFDa")]
    [InlineData(new byte[] { 0xFF, 0xFE }, "\uFFFD\uFFFD")]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x91, 0x21 }, "\uFFFD!")]
    [InlineData(new byte[] { 0xC0, 0xAF }, "\uFFFD\uFFFD")]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "\uFFFD\uFFFD\uFFFD")]
    [InlineData(new byte[] { 0x61, 0x80, 0xE4, 0xB8, 0x80 }, "a\uFFFD一")]
    [InlineData(new byte[] { 0xE4, 0xB8 }, "\uFFFD")]
    public void Invalid_utf8_becomes_replacement_characters_like_hf(byte[] bytes, string expected)
    {
        int[] ids = bytes.Select(ByteToken).ToArray();
        Assert.Equal(expected, Tok.Decode(ids));
    }

    [Fact]
    public void Skip_special_tokens_drops_only_special_ones()
    {
        int[] ids = Tok.Encode("<|im_start|>assistant\n<think>\nok\n</think>\n\nHi<|im_end|>");
        Assert.Equal("assistant\n<think>\nok\n</think>\n\nHi", Tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|im_start|>assistant\n<think>\nok\n</think>\n\nHi<|im_end|>", Tok.Decode(ids));
    }

    [Fact]
    public void Unknown_ids_are_skipped()
    {
        int[] hello = Tok.Encode("hello");
        Assert.Equal("hello", Tok.Decode([-1, .. hello, 1_000_000]));
    }
}
