using System.Globalization;
using System.Text;

namespace Hearth.Tokenization.Bpe;

/// <summary>The classes the Qwen2/Llama 3 split pattern distinguishes, per Unicode scalar.</summary>
internal enum CharClass : byte
{
    Other = 0,
    Letter = 1,   // \p{L}
    Number = 2,   // \p{N}
    Space = 3,    // \s other than CR and LF: Unicode White_Space
    NewLine = 4,  // \r or \n
}

internal static class CharClasses
{
    private static readonly CharClass[] BmpTable = BuildBmp();

    public static CharClass Of(char c) => BmpTable[c];

    /// <summary>The class of the scalar at <paramref name="index"/> and its length in UTF-16 units.</summary>
    public static CharClass At(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return FromCategory(Rune.GetUnicodeCategory(new Rune(c, text[index + 1])));
        }
        length = 1;
        return BmpTable[c];
    }

    private static CharClass[] BuildBmp()
    {
        var table = new CharClass[0x10000];
        for (int c = 0; c < table.Length; c++)
        {
            if (c >= 0xD800 && c <= 0xDFFF) continue; // a lone surrogate is neither letter, number nor space
            table[c] = IsWhiteSpace(c) ? (c == '\r' || c == '\n' ? CharClass.NewLine : CharClass.Space)
                : FromCategory(CharUnicodeInfo.GetUnicodeCategory(c));
        }
        return table;
    }

    // Unicode White_Space, as \s means in the Rust and Oniguruma engines (U+001C..U+001F are not in it).
    private static bool IsWhiteSpace(int c) =>
        (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;

    private static CharClass FromCategory(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        _ => CharClass.Other,
    };
}
