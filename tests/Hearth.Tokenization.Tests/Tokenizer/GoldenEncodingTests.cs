using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>Encoding and decoding must equal Hugging Face tokenizers on every recorded golden.</summary>
public class GoldenEncodingTests
{
    private static Tokenizer Tok => QwenTokenizer.Instance;

    public static TheoryData<int> TokenizerGoldenIndices() => Indices(TokenizerGoldens().GetArrayLength());

    public static TheoryData<int> CaseIndices() => Indices(Cases().GetArrayLength());

    public static TheoryData<int> ChatTemplateIndices() => Indices(ChatTemplateGoldens().GetArrayLength());

    [Theory]
    [MemberData(nameof(TokenizerGoldenIndices))]
    public void Encode_and_decode_match_tokenizer_goldens(int index)
    {
        var golden = TokenizerGoldens()[index];
        string text = golden.GetProperty("text").GetString()!;
        int[] expected = Ids(golden.GetProperty("ids"));

        int[] actual = Tok.Encode(text);

        Assert.Equal(expected, actual);
        Assert.Equal(golden.GetProperty("decoded").GetString(), Tok.Decode(actual));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Encode_of_rendered_prompt_matches_prompt_ids(int index)
    {
        var c = Cases()[index];
        Assert.Equal(Ids(c.GetProperty("prompt_ids")), Tok.Encode(c.GetProperty("prompt_text").GetString()!));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Decode_of_response_ids_gives_response_text(int index)
    {
        var c = Cases()[index];
        int[] ids = Ids(c.GetProperty("response_ids"));
        string text = c.GetProperty("response_text").GetString()!;

        Assert.Equal(text, Tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(text + "<|im_end|>", Tok.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(ChatTemplateIndices))]
    public void Encode_of_chat_template_golden_text_matches_its_ids(int index)
    {
        var golden = ChatTemplateGoldens()[index];
        Assert.Equal(Ids(golden.GetProperty("ids")), Tok.Encode(golden.GetProperty("text").GetString()!));
    }

    private static TheoryData<int> Indices(int count)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < count; i++) data.Add(i);
        return data;
    }

    private static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static JsonElement TokenizerGoldens() => ReadJson(Path.Combine(RepoPaths.Goldens, "tokenizer-qwen3.json"));

    private static JsonElement ChatTemplateGoldens() => ReadJson(Path.Combine(RepoPaths.Goldens, "chat-template-qwen3.json"));

    private static JsonElement Cases() => ReadJson(Path.Combine(RepoPaths.Parrot, "cases.json"));

    private static JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;
}
