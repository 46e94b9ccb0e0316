using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

public class EncodingBehaviourTests
{
    private static Tokenizer Tok => QwenTokenizer.Instance;

    [Fact]
    public void Empty_text_gives_no_ids()
    {
        Assert.Empty(Tok.Encode(""));
        Assert.Equal("", Tok.Decode([]));
    }

    [Fact]
    public void Numbers_are_split_into_single_digits()
    {
        int[] ids = Tok.Encode("2026");
        Assert.Equal(new[] { "2", "0", "2", "6" }.Select(d => Tok.TokenToId(d)!.Value), ids);
    }

    [Fact]
    public void Lone_surrogates_become_replacement_characters()
    {
        Assert.Equal(Tok.Encode("a\uFFFDb\uFFFD"), Tok.Encode("a\uD800b\uDC00"));
        Assert.Equal("x\uFFFD", Tok.Decode(Tok.Encode("x\uDBFF")));
    }

    [Fact]
    public void Astral_cjk_characters_round_trip()
    {
        const string text = "𠀀𠀁𪚥 and 𝐀𝐁";
        Assert.Equal(text, Tok.Decode(Tok.Encode(text)));
    }

    [Fact]
    public void Text_is_nfc_normalized_before_tokenizing()
    {
        Assert.Equal(Tok.Encode("café"), Tok.Encode("cafe\u0301"));
        Assert.Equal(Tok.Encode("\uAC01"), Tok.Encode("\u1100\u1161\u11A8"));
    }

    [Fact]
    public void Special_tokens_in_text_are_matched_whole_and_not_normalized_into_bpe()
    {
        int imStart = Tok.TokenToId("<|im_start|>")!.Value;
        int imEnd = Tok.TokenToId("<|im_end|>")!.Value;
        int[] ids = Tok.Encode("<|im_start|>user\nhé<|im_end|><|im_end|>");
        Assert.Equal(imStart, ids[0]);
        Assert.Equal(new[] { imEnd, imEnd }, ids[^2..]);
        Assert.Equal(Tok.Encode("user\nhé"), ids[1..^2]);
    }

    [Fact]
    public void A_partial_special_token_is_ordinary_text()
    {
        int[] ids = Tok.Encode("<|im_start|");
        Assert.DoesNotContain(Tok.TokenToId("<|im_start|>")!.Value, ids);
        Assert.Equal("<|im_start|", Tok.Decode(ids));
    }

    [Fact]
    public void Long_words_and_long_inputs_round_trip()
    {
        string word = string.Concat(Enumerable.Repeat("ab", 5000));
        Assert.Equal(word, Tok.Decode(Tok.Encode(word)));
        string mixed = string.Concat(Enumerable.Repeat("Hello, 世界! 12 👍🏽\r\n", 500));
        Assert.Equal(mixed, Tok.Decode(Tok.Encode(mixed)));
    }

    [Fact]
    public void Cached_and_uncached_encodings_agree()
    {
        const string text = "repeated words repeated words 重复重复";
        Assert.Equal(Tok.Encode(text), Tok.Encode(text));
    }

    [Fact]
    public void Span_overload_appends_to_existing_output()
    {
        var output = new List<int> { -7 };
        Tok.Encode("hi there".AsSpan(), output);
        Assert.Equal(new[] { -7 }.Concat(Tok.Encode("hi there")), output);
    }

    [Fact]
    public void Every_byte_round_trips_through_its_single_byte_token()
    {
        for (int b = 0; b < 256; b++)
        {
            int? id = Tok.TokenToId(ByteLevelAlphabet.ByteToChar((byte)b).ToString());
            Assert.NotNull(id);
            var bytes = new List<byte>();
            Tok.AppendTokenBytes(id.Value, bytes);
            Assert.Equal(new[] { (byte)b }, bytes);
        }
    }
}
