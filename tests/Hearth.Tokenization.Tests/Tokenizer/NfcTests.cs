using System.Text.Json;
using Hearth.Testing;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>
/// NFC on random mixes of combining marks, Hangul jamo, singletons, excluded composites and astral marks,
/// against Python's unicodedata (the data the tables were generated from).
/// </summary>
public class NfcTests
{
    [Fact]
    public void Random_strings_normalize_like_python()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            RepoPaths.RepoRoot, "tests", "Hearth.Tokenization.Tests", "Tokenizer", "nfc-goldens.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            string expected = c.GetProperty("nfc").GetString()!;
            string actual = TextNormalizer.Normalize(text, nfc: true) ?? text;
            Assert.True(expected == actual, $"NFC of {Escape(text)}: expected {Escape(expected)}, got {Escape(actual)}");
        }
    }

    [Fact]
    public void Normalized_text_is_not_copied()
    {
        Assert.Null(TextNormalizer.Normalize("plain ascii, 中文, café, 한국어, 👍🏽", nfc: true));
        Assert.Null(TextNormalizer.Normalize("e\u0301", nfc: false));
        Assert.Equal("a\uFFFD", TextNormalizer.Normalize("a\uD800", nfc: false));
    }

    private static string Escape(string s) => string.Concat(s.EnumerateRunes().Select(r => $"U+{r.Value:X4} "));
}
