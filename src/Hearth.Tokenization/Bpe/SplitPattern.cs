using Hearth.Core;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// The Qwen2 and Llama 3 pre-tokenizer regexes, run as a hand-written scanner over Unicode scalars: .NET's Regex
/// works on UTF-16 units, where \p{L} misses letters outside the BMP, and the scanner is much faster.
/// Pattern: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// with K = 1 for Qwen2 and K = 3 for Llama 3. Alternatives are tried in order at each position (leftmost-first).
/// </summary>
internal sealed class SplitPattern
{
    public const string Qwen2 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly int _maxDigitsPerPiece;

    private SplitPattern(int maxDigitsPerPiece) => _maxDigitsPerPiece = maxDigitsPerPiece;

    public static SplitPattern FromRegex(string pattern) => pattern switch
    {
        Qwen2 => new SplitPattern(1),
        Llama3 => new SplitPattern(3),
        _ => throw new HearthException("Unsupported pre-tokenizer split pattern in tokenizer.json: " + pattern),
    };

    /// <summary>The end (exclusive) of the piece that starts at <paramref name="start"/>; every position starts one.</summary>
    public int NextPieceEnd(ReadOnlySpan<char> text, int start)
    {
        int n = text.Length;
        char c = text[start];
        if (c == '\'' && start + 1 < n)
        {
            int contraction = ContractionLength(text, start + 1);
            if (contraction > 0) return start + 1 + contraction;
        }

        var cls = CharClasses.At(text, start, out int length);
        if (cls == CharClass.Letter) return SkipClass(text, start + length, CharClass.Letter);
        if (cls is CharClass.Other or CharClass.Space && start + length < n
            && CharClasses.At(text, start + length, out _) == CharClass.Letter)
            return SkipClass(text, start + length, CharClass.Letter);

        if (cls == CharClass.Number)
        {
            int end = start + length;
            for (int count = 1; count < _maxDigitsPerPiece && end < n; count++)
            {
                if (CharClasses.At(text, end, out int next) != CharClass.Number) break;
                end += next;
            }
            return end;
        }

        if (c == ' ' && start + 1 < n && CharClasses.At(text, start + 1, out _) == CharClass.Other)
            return SkipClass(text, SkipClass(text, start + 1, CharClass.Other), CharClass.NewLine);
        if (cls == CharClass.Other)
            return SkipClass(text, SkipClass(text, start, CharClass.Other), CharClass.NewLine);

        // Whitespace: every White_Space character is in the BMP, so each is one UTF-16 unit.
        int runEnd = start;
        while (runEnd < n && CharClasses.Of(text[runEnd]) is CharClass.Space or CharClass.NewLine) runEnd++;
        for (int k = runEnd - 1; k >= start; k--)
            if (text[k] is '\r' or '\n') return k + 1;          // \s*[\r\n]+ : greedy \s* backs off to the last newline
        if (runEnd == n) return runEnd;                           // \s+(?!\S) at the end of the text
        if (runEnd - start >= 2) return runEnd - 1;               // \s+(?!\S) leaves the last space to the next word
        return runEnd;                                            // \s+
    }

    private static int SkipClass(ReadOnlySpan<char> text, int index, CharClass cls)
    {
        while (index < text.Length)
        {
            if (CharClasses.At(text, index, out int length) != cls) break;
            index += length;
        }
        return index;
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d) after the apostrophe. Case-insensitive matching folds U+017F (long s) to s,
    // as HF's Oniguruma does (checked against HF: "'ſำ" splits as "'ſ", "ำ").
    private static int ContractionLength(ReadOnlySpan<char> text, int index)
    {
        char a = text[index];
        switch (a)
        {
            case 's' or 'S' or 't' or 'T' or 'm' or 'M' or 'd' or 'D' or '\u017F':
                return 1;
        }
        if (index + 1 >= text.Length) return 0;
        char b = (char)(text[index + 1] | 0x20);
        if (text[index + 1] > 0x7F) return 0;
        return (char)(a | 0x20) switch
        {
            'r' when b == 'e' => 2,
            'v' when b == 'e' => 2,
            'l' when b == 'l' => 2,
            _ => 0,
        };
    }
}
