using System.Text;
using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Tokenization.Tests.Tokenizing;

public class IncrementalDetokenizerTests
{
    private static Tokenizer Tok => QwenTokenizer.Instance;

    [Theory]
    [InlineData("四五六")]
    [InlineData("👍🏽")]
    [InlineData("🧑‍🚀 went to space")]
    [InlineData("混合 mixed 文本 text 123 四五六 🇨🇳")]
    public void Multi_token_characters_never_show_as_replacement(string text)
    {
        int[] ids = Tok.Encode(text);
        var chunks = Stream(ids, out string rest);

        Assert.All(chunks, c => Assert.DoesNotContain('\uFFFD', c));
        Assert.Equal("", rest);
        Assert.Equal(text, string.Concat(chunks));
    }

    [Fact]
    public void Characters_split_across_tokens_are_held_back_until_complete()
    {
        // Qwen3 spells this emoji with tokens that are not valid UTF-8 on their own, so the stream must wait.
        int[] ids = Tok.Encode("🧑‍🚀");
        Assert.Contains(ids, id => !IsValidUtf8(id));
        var detok = new IncrementalDetokenizer(Tok);
        var outputs = ids.Select(detok.Push).ToList();
        Assert.Contains("", outputs);
        Assert.Equal("🧑‍🚀", string.Concat(outputs) + detok.Flush());
    }

    [Fact]
    public void Stream_of_every_parrot_response_equals_decode()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")));
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            int[] ids = c.GetProperty("response_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            foreach (bool skip in new[] { false, true })
            {
                var chunks = Stream(ids, out string rest, skip);
                Assert.Equal(Tok.Decode(ids, skip), string.Concat(chunks) + rest);
                Assert.All(chunks, chunk => Assert.DoesNotContain('\uFFFD', chunk));
            }
        }
    }

    [Fact]
    public void Random_byte_streams_decode_the_same_incrementally_as_at_once()
    {
        var random = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            int[] ids = new int[random.Next(1, 24)];
            for (int i = 0; i < ids.Length; i++)
            {
                // Mostly bytes that start or continue multi-byte sequences, so that invalid ones occur often.
                byte b = (byte)(random.Next(4) == 0 ? random.Next(256) : random.Next(0x80, 0xF6));
                ids[i] = random.Next(5) == 0 ? random.Next(Tok.VocabSize) : DecodeTests.ByteToken(b);
            }
            var chunks = Stream(ids, out string rest);
            Assert.Equal(Tok.Decode(ids), string.Concat(chunks) + rest);
        }
    }

    [Fact]
    public void Flush_turns_an_unfinished_character_into_a_replacement_and_resets()
    {
        var detok = new IncrementalDetokenizer(Tok);
        Assert.Equal("", detok.Push(DecodeTests.ByteToken(0xE4)));
        Assert.Equal("", detok.Push(DecodeTests.ByteToken(0xB8)));
        Assert.Equal("\uFFFD", detok.Flush());
        Assert.Equal("", detok.Flush());
        Assert.Equal("ok", detok.Push(Tok.TokenToId("ok")!.Value));
    }

    private static List<string> Stream(int[] ids, out string rest, bool skipSpecialTokens = false)
    {
        var detok = new IncrementalDetokenizer(Tok, skipSpecialTokens);
        var chunks = ids.Select(detok.Push).ToList();
        rest = detok.Flush();
        return chunks;
    }

    private static bool IsValidUtf8(int id)
    {
        var bytes = new List<byte>();
        Tok.AppendTokenBytes(id, bytes);
        try
        {
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
