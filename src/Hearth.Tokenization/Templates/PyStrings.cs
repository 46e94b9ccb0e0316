using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Python str operations. Python indexes strings by code point, C# by UTF-16 unit, so lengths, indexes and
/// slices go through code points whenever the string holds a surrogate pair (emoji, rare CJK).
/// </summary>
internal static class PyStrings
{
    /// <summary>Python's str.isspace, which also counts the ASCII separators 0x1C-0x1F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    /// <summary>str.islower: at least one cased character and no upper-case one.</summary>
    public static bool IsLower(string s) => s.Any(char.IsLower) && !s.Any(c => char.IsUpper(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter);

    /// <summary>str.isupper: at least one cased character and no lower-case one.</summary>
    public static bool IsUpper(string s) => s.Any(char.IsUpper) && !s.Any(c => char.IsLower(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter);

    public static bool HasSurrogates(string s)
    {
        foreach (char c in s)
        {
            if (char.IsSurrogate(c)) return true;
        }
        return false;
    }

    public static int Length(string s) => HasSurrogates(s) ? CodePoints(s).Length : s.Length;

    public static string[] CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Add(s.Substring(i, 2));
                i++;
            }
            else
            {
                result.Add(s[i].ToString());
            }
        }
        return result.ToArray();
    }

    /// <summary>Ordering by code point, as Python compares strings.</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = NextCodePoint(a, ref i);
            int cb = NextCodePoint(b, ref j);
            if (ca != cb) return ca < cb ? -1 : 1;
        }
        if (i < a.Length) return 1;
        return j < b.Length ? -1 : 0;
    }

    private static int NextCodePoint(string s, ref int i)
    {
        if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            int cp = char.ConvertToUtf32(s[i], s[i + 1]);
            i += 2;
            return cp;
        }
        return s[i++];
    }

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int start = 0, end = s.Length;
        if (chars is null)
        {
            if (left) while (start < end && IsSpace(s[start])) start++;
            if (right) while (end > start && IsSpace(s[end - 1])) end--;
        }
        else
        {
            if (left) while (start < end && chars.Contains(s[start])) start++;
            if (right) while (end > start && chars.Contains(s[end - 1])) end--;
        }
        return s.Substring(start, end - start);
    }

    /// <summary>str.split: without a separator splits on whitespace runs and drops empty parts.</summary>
    public static List<object?> Split(string s, string? separator, long maxSplit)
    {
        var parts = new List<object?>();
        if (separator is null)
        {
            int i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count >= maxSplit)
                {
                    parts.Add(Strip(s.Substring(i), null, false, true));
                    break;
                }
                int start = i;
                while (i < s.Length && !IsSpace(s[i])) i++;
                parts.Add(s.Substring(start, i - start));
            }
            return parts;
        }
        if (separator.Length == 0) throw new JinjaRuntimeError("empty separator");
        int from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(separator, from, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s.Substring(from, at - from));
            from = at + separator.Length;
        }
        parts.Add(s.Substring(from));
        return parts;
    }

    /// <summary>str.rsplit with a separator, splitting from the right.</summary>
    public static List<object?> RSplit(string s, string? separator, long maxSplit)
    {
        if (separator is null || maxSplit < 0) return Split(s, separator, maxSplit);
        if (separator.Length == 0) throw new JinjaRuntimeError("empty separator");
        var parts = new List<object?>();
        int end = s.Length;
        while (parts.Count < maxSplit)
        {
            int at = end - separator.Length < 0 ? -1 : s.LastIndexOf(separator, end - 1, end, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s.Substring(at + separator.Length, end - at - separator.Length));
            end = at;
        }
        parts.Add(s.Substring(0, end));
        parts.Reverse();
        return parts;
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return old.Length == 0 ? ReplaceEmpty(s, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        if (old.Length == 0) return ReplaceEmpty(s, replacement, count);
        var sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0) break;
            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
        }
        return sb.Append(s, from, s.Length - from).ToString();
    }

    private static string ReplaceEmpty(string s, string replacement, long count)
    {
        var sb = new StringBuilder();
        var points = CodePoints(s);
        long done = 0;
        foreach (var p in points)
        {
            if (done++ < count) sb.Append(replacement);
            sb.Append(p);
        }
        if (done < count) sb.Append(replacement);
        return sb.ToString();
    }

    public static string Capitalize(string s)
    {
        if (s.Length == 0) return s;
        var points = CodePoints(s);
        var sb = new StringBuilder(points[0].ToUpperInvariant());
        for (int i = 1; i < points.Length; i++) sb.Append(points[i].ToLowerInvariant());
        return sb.ToString();
    }

    /// <summary>str.title: a letter after a non-letter is upper-cased, others lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsLetter(c);
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }
        return sb.ToString();
    }
}
