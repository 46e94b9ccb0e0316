using System.Text.Json;
using Hearth.Engine.Loading;
using Hearth.Models.Gguf;
using Hearth.Testing;
using Hearth.Tokenization;

namespace Hearth.Engine.Tests.Gguf;

/// <summary>The tokenizer rebuilt from a GGUF's metadata alone must tokenize exactly as Hugging Face does.</summary>
public sealed class GgufTokenizerTests
{
    private static Tokenizer FromGguf()
    {
        using var file = GgufFile.Open(GgufModelFiles.Parrot(GgufFileType.Q8_0));
        return GgufTokenizerLoader.Load(file) ?? throw new InvalidOperationException("no tokenizer in the GGUF");
    }

    [Fact]
    public void Encodes_and_decodes_the_hugging_face_goldens_identically()
    {
        var tokenizer = FromGguf();
        using var goldens = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Goldens, "tokenizer-qwen3.json")));
        int count = 0;
        foreach (var entry in goldens.RootElement.EnumerateArray())
        {
            string text = entry.GetProperty("text").GetString()!;
            int[] expected = entry.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, tokenizer.Encode(text));
            Assert.Equal(entry.GetProperty("decoded").GetString(), tokenizer.Decode(expected));
            count++;
        }
        Assert.True(count >= 10, $"only {count} goldens");
    }

    [Fact]
    public void Carries_the_special_tokens_and_chat_template()
    {
        var fromGguf = FromGguf();
        var original = Tokenizer.Load(RepoPaths.Parrot);
        Assert.Equal(original.Config.ChatTemplate, fromGguf.Config.ChatTemplate);
        Assert.Equal(original.Config.EosToken, fromGguf.Config.EosToken);
        foreach (string special in new[] { "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</tool_call>" })
        {
            Assert.Equal(original.TokenToId(special), fromGguf.TokenToId(special));
            Assert.Equal(original.IsSpecial(original.TokenToId(special)!.Value), fromGguf.IsSpecial(fromGguf.TokenToId(special)!.Value));
        }
        const string text = "<|im_start|>user\nhi <think>x</think><|im_end|>";
        Assert.Equal(original.Encode(text), fromGguf.Encode(text));
    }

    [Theory]
    [InlineData("llama", "qwen2", "'llama'")]
    [InlineData("gpt2", "deepseek-llm", "'deepseek-llm'")]
    public void A_tokenizer_kind_hearth_cannot_run_is_named(string model, string pre, string named)
    {
        var data = new GgufTokenizerData { Model = model, Pre = pre, Tokens = ["a", "b", "ab"], Merges = ["a b"] };
        var e = Assert.Throws<Hearth.Core.HearthException>(() => Tokenizer.FromGguf(data));
        Assert.Contains(named, e.Message);
    }
}
