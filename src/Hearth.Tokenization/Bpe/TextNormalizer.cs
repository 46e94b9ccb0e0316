using System.Text;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Replaces lone surrogates with U+FFFD and, when asked, applies Unicode NFC. Text that needs neither comes back
/// as null so that the common case allocates nothing.
/// </summary>
internal static class TextNormalizer
{
    private const int ReplacementChar = 0xFFFD;

    [ThreadStatic] private static List<int>? _pendingScratch;
    [ThreadStatic] private static List<int>? _decomposedScratch;

    /// <summary>The normalized text, or null when <paramref name="text"/> is already normalized.</summary>
    public static string? Normalize(ReadOnlySpan<char> text, bool nfc)
    {
        int firstUnstable = FindFirstUnstable(text, nfc, out int previousScalarStart);
        if (firstUnstable < 0) return null;

        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text[..previousScalarStart]);
        var pending = _pendingScratch ??= new List<int>();
        var decomposed = _decomposedScratch ??= new List<int>();
        pending.Clear();
        for (int i = previousScalarStart; i < text.Length;)
        {
            int cp = ReadScalar(text, i, out int length);
            i += length;
            if (!nfc) { AppendCodePoint(sb, cp); continue; }
            // A stable code point can neither reorder nor compose with what precedes it: a segment boundary.
            if (!UnicodeNfcData.IsUnstable(cp)) Flush(pending, decomposed, sb);
            pending.Add(cp);
        }
        if (nfc) Flush(pending, decomposed, sb);
        return sb.ToString();
    }

    private static int FindFirstUnstable(ReadOnlySpan<char> text, bool nfc, out int previousScalarStart)
    {
        previousScalarStart = 0;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (c < 0x300) { previousScalarStart = i++; continue; }
            int cp, length = 1;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(c, text[i + 1]);
                length = 2;
            }
            else if (char.IsSurrogate(c)) return i;
            else cp = c;
            if (nfc && UnicodeNfcData.IsUnstable(cp)) return i;
            previousScalarStart = i;
            i += length;
        }
        return -1;
    }

    private static int ReadScalar(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        length = 1;
        if (!char.IsSurrogate(c)) return c;
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, text[index + 1]);
        }
        return ReplacementChar;
    }

    private static void Flush(List<int> pending, List<int> decomposed, StringBuilder sb)
    {
        if (pending.Count == 0) return;
        if (pending.Count == 1 && !UnicodeNfcData.IsUnstable(pending[0]))
        {
            AppendCodePoint(sb, pending[0]);
            pending.Clear();
            return;
        }
        decomposed.Clear();
        foreach (int cp in pending) UnicodeNfcData.Decompose(cp, decomposed);
        pending.Clear();
        SortCombiningMarks(decomposed);
        Compose(decomposed);
        foreach (int cp in decomposed) AppendCodePoint(sb, cp);
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    private static void SortCombiningMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int ccc = UnicodeNfcData.CombiningClass(cps[i]);
            if (ccc == 0) continue;
            int cp = cps[i], j = i - 1;
            while (j >= 0 && UnicodeNfcData.CombiningClass(cps[j]) > ccc)
            {
                cps[j + 1] = cps[j];
                j--;
            }
            cps[j + 1] = cp;
        }
    }

    // Canonical composition in place: each code point joins the last starter unless something between blocks it.
    private static void Compose(List<int> cps)
    {
        int starterIndex = -1, lastCcc = 0, write = 0;
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read];
            int ccc = UnicodeNfcData.CombiningClass(cp);
            if (starterIndex >= 0)
            {
                bool adjacent = write - 1 == starterIndex;
                if (adjacent || lastCcc < ccc)
                {
                    int composite = UnicodeNfcData.Compose(cps[starterIndex], cp);
                    if (composite >= 0)
                    {
                        cps[starterIndex] = composite;
                        continue;
                    }
                }
            }
            if (ccc == 0) starterIndex = write;
            lastCcc = ccc;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static void AppendCodePoint(StringBuilder sb, int cp)
    {
        if (cp < 0x10000)
        {
            sb.Append((char)cp);
            return;
        }
        int offset = cp - 0x10000;
        sb.Append((char)(0xD800 + (offset >> 10))).Append((char)(0xDC00 + (offset & 0x3FF)));
    }
}
