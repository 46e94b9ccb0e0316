using System.Text.Json;
using Hearth.Testing;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>
/// NFC and the Qwen2/Llama 3 split scanner against HF tokenizers 0.23.2 (normalizers.NFC and pre_tokenizers.Split
/// with each pattern, run on the GPU machine) for hard inputs: contractions in mixed case, whitespace runs,
/// digits, emoji with ZWJ and skin tones, astral letters, combining marks, control characters.
/// </summary>
public class PreTokenizerGoldenTests
{
    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Goldens().GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Nfc_matches_hf(int index)
    {
        var g = Goldens()[index];
        string text = g.GetProperty("text").GetString()!;
        Assert.Equal(g.GetProperty("nfc").GetString(), TextNormalizer.Normalize(text, nfc: true) ?? text);
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Qwen2_split_matches_hf(int index) => AssertSplit(index, SplitPattern.Qwen2, "qwen");

    [Theory]
    [MemberData(nameof(Indices))]
    public void Llama3_split_matches_hf(int index) => AssertSplit(index, SplitPattern.Llama3, "llama3");

    [Theory]
    [MemberData(nameof(Indices))]
    public void Encode_is_the_bpe_of_each_hf_piece(int index)
    {
        var g = Goldens()[index];
        var tok = QwenTokenizer.Instance;
        var expected = new List<int>();
        foreach (var piece in g.GetProperty("qwen").EnumerateArray()) expected.AddRange(tok.Encode(piece.GetString()!));

        int[] actual = tok.Encode(g.GetProperty("text").GetString()!);

        Assert.Equal(expected, actual);
        Assert.Equal(g.GetProperty("nfc").GetString(), tok.Decode(actual));
    }

    internal static List<string> Split(string pattern, string text)
    {
        var scanner = SplitPattern.FromRegex(pattern);
        var pieces = new List<string>();
        for (int start = 0; start < text.Length;)
        {
            int end = scanner.NextPieceEnd(text, start);
            Assert.True(end > start, "the scanner must always advance");
            pieces.Add(text[start..end]);
            start = end;
        }
        return pieces;
    }

    private static void AssertSplit(int index, string pattern, string key)
    {
        var g = Goldens()[index];
        var expected = g.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(expected, Split(pattern, g.GetProperty("nfc").GetString()!));
    }

    private static JsonElement Goldens() => JsonDocument.Parse(File.ReadAllText(Path.Combine(
        RepoPaths.RepoRoot, "tests", "Hearth.Tokenization.Tests", "Tokenizer", "hf-pretokenizer-goldens.json"))).RootElement;
}
