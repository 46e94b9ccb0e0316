using System.Buffers;
using System.Globalization;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Finds added tokens in text the way HF's AddedVocabulary::find_matches does: leftmost-longest,
/// non-overlapping matches, then single_word, lstrip and rstrip applied to each.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedTokenSpec[]> _byFirstChar;   // candidates, longest first
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedTokenSpec> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>
    /// The next added token at or after <paramref name="searchFrom"/>. <paramref name="consumedUpTo"/> is where the
    /// previous accepted token (with its stripped spaces) ended; lstrip never reaches back before it.
    /// Returns false when there is none; <paramref name="searchFrom"/> then moves past discarded single_word matches.
    /// </summary>
    public bool TryFindNext(ReadOnlySpan<char> text, ref int searchFrom, int consumedUpTo,
        out int start, out int end, out AddedTokenSpec token)
    {
        while (TryFindRaw(text, searchFrom, out int rawStart, out token))
        {
            int rawEnd = rawStart + token.Content.Length;
            searchFrom = rawEnd;
            if (token.SingleWord && !IsSingleWord(text, rawStart, rawEnd)) continue;
            start = rawStart;
            end = rawEnd;
            if (token.LeftStrip)
            {
                while (start > consumedUpTo && IsWhiteSpace(text[start - 1])) start--;
            }
            if (token.RightStrip)
            {
                while (end < text.Length && IsWhiteSpace(text[end])) end++;
            }
            return true;
        }
        start = end = 0;
        token = null!;
        return false;
    }

    private bool TryFindRaw(ReadOnlySpan<char> text, int from, out int matchStart, out AddedTokenSpec token)
    {
        while (from < text.Length)
        {
            int offset = text[from..].IndexOfAny(_firstChars);
            if (offset < 0) break;
            int at = from + offset;
            foreach (var candidate in _byFirstChar[text[at]])
            {
                if (text[at..].StartsWith(candidate.Content, StringComparison.Ordinal))
                {
                    matchStart = at;
                    token = candidate;
                    return true;
                }
            }
            from = at + 1;
        }
        matchStart = 0;
        token = null!;
        return false;
    }

    private static bool IsSingleWord(ReadOnlySpan<char> text, int start, int end)
    {
        bool wordBefore = start > 0 && IsWordChar(text, start - 1, backwards: true);
        bool wordAfter = end < text.Length && IsWordChar(text, end, backwards: false);
        return !wordBefore && !wordAfter;
    }

    // Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation and the joiners.
    private static bool IsWordChar(ReadOnlySpan<char> text, int index, bool backwards)
    {
        int cp = text[index];
        if (backwards && char.IsLowSurrogate(text[index]) && index > 0 && char.IsHighSurrogate(text[index - 1]))
            cp = char.ConvertToUtf32(text[index - 1], text[index]);
        else if (!backwards && char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
            cp = char.ConvertToUtf32(text[index], text[index + 1]);
        if (cp is 0x200C or 0x200D) return true;
        if (cp is >= 0xD800 and <= 0xDFFF) return false;
        return CharUnicodeInfo.GetUnicodeCategory(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => false,
        };
    }

    private static bool IsWhiteSpace(char c) => CharClasses.Of(c) is CharClass.Space or CharClass.NewLine;
}
