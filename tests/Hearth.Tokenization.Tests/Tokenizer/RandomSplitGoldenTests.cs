using System.Text.Json;
using Hearth.Testing;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>
/// 1,500 random strings over the characters the split pattern treats differently (apostrophes and contraction
/// letters in both cases, every kind of whitespace, digits and other numbers, astral letters, emoji, marks,
/// controls, jamo), with NFC and both patterns' splits recorded from HF tokenizers 0.23.2.
/// </summary>
public class RandomSplitGoldenTests
{
    [Fact]
    public void Nfc_and_splits_match_hf_on_random_strings()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            RepoPaths.RepoRoot, "tests", "Hearth.Tokenization.Tests", "Tokenizer", "hf-random-split-goldens.json")));
        int checkedCases = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            string nfc = c.GetProperty("nfc").GetString()!;
            Assert.True(nfc == (TextNormalizer.Normalize(text, nfc: true) ?? text), "NFC differs for " + Json(text));
            AssertSplit(c, "qwen", SplitPattern.Qwen2, nfc);
            AssertSplit(c, "llama3", SplitPattern.Llama3, nfc);
            checkedCases++;
        }
        Assert.Equal(1500, checkedCases);
    }

    private static void AssertSplit(JsonElement c, string key, string pattern, string nfc)
    {
        var expected = c.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).ToList();
        var actual = PreTokenizerGoldenTests.Split(pattern, nfc);
        Assert.True(expected.SequenceEqual(actual),
            $"{key} split of {Json(nfc)}: expected {Json(expected)}, got {Json(actual)}");
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);
}
