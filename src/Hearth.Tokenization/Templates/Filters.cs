using System.Globalization;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>Jinja's built-in filters as chat templates use them, with transformers' tojson override.</summary>
internal static class Filters
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "tojson", "length", "count", "trim", "string", "list", "default", "d", "first", "last", "join", "lower",
        "upper", "replace", "items", "map", "select", "reject", "selectattr", "rejectattr", "capitalize", "title",
        "int", "float", "abs", "round", "reverse", "unique", "sum", "min", "max", "sort", "dictsort", "indent",
        "safe", "escape", "e", "forceescape", "wordcount", "center", "attr", "format", "pprint", "batch",
    };

    public static bool Exists(string name) => Names.Contains(name);

    public static object? Apply(RenderContext context, string name, object? value, CallArgs args)
    {
        switch (name)
        {
            case "tojson": return ToJson(value, args);
            case "length" or "count": return PyOps.Length(value);
            case "trim":
                args.Check(name, "chars");
                return PyStrings.Strip(PyFormat.Str(value), args.Get(0, "chars", null) as string, true, true);
            case "string": return PyFormat.Str(value);
            case "list": return new List<object?>(PyOps.Iterate(value));
            case "default" or "d":
                args.Check(name, "default_value", "boolean");
                bool boolean = PyOps.Truthy(args.Get(1, "boolean", false));
                return value is Undefined || (boolean && !PyOps.Truthy(value)) ? args.Get(0, "default_value", "") : value;
            case "first":
                var firstItems = PyOps.Iterate(value);
                return firstItems.Count > 0 ? firstItems[0] : new Undefined("No first item, sequence was empty.");
            case "last":
                var lastItems = PyOps.Iterate(value);
                return lastItems.Count > 0 ? lastItems[^1] : new Undefined("No last item, sequence was empty.");
            case "join": return Join(value, args);
            case "lower": return PyFormat.Str(value).ToLowerInvariant();
            case "upper": return PyFormat.Str(value).ToUpperInvariant();
            case "capitalize": return PyStrings.Capitalize(PyFormat.Str(value));
            case "title": return TitleWords(PyFormat.Str(value));
            case "replace":
                args.Check(name, "old", "new", "count");
                long count = args.Get(2, "count", null) is { } c && PyOps.TryInt(c, out long n) ? n : -1;
                return PyStrings.Replace(PyFormat.Str(value), ArgString(args, 0, "old"), ArgString(args, 1, "new"), count);
            case "items":
                if (value is Undefined) return new List<object?>();
                if (value is not PyDict dict) throw new JinjaRuntimeError("Can only get item pairs from a mapping.");
                return dict.Entries.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList();
            case "int" or "float" when value is Undefined u: throw u.Fail();
            case "int": return ToInt(value, args);
            case "float": return ToFloat(value, args);
            case "abs":
                return value switch
                {
                    long l => (object)Math.Abs(l),
                    double d => Math.Abs(d),
                    bool b => b ? 1L : 0L,
                    _ => throw new JinjaRuntimeError($"bad operand type for abs(): '{PyOps.TypeName(value)}'"),
                };
            case "round": return Round(value, args);
            case "safe": return value;
            case "escape" or "e" or "forceescape": return Escape(PyFormat.Str(value));
            case "wordcount": return WordCount(PyFormat.Str(value));
            case "center":
                string text = PyFormat.Str(value);
                long width = PyOps.TryInt(args.Get(0, "width", 80L), out long w) ? w : 80;
                int textLength = PyStrings.Length(text);
                if (width <= textLength) return text;
                long padding = Math.Min(width - textLength, PyArithmetic.MaxBuiltLength);
                int left = (int)(padding / 2 + (padding & width & 1));
                return new string(' ', left) + text + new string(' ', (int)(padding - left));
            case "indent":
                if (value is not string indented) throw new JinjaRuntimeError($"'{PyOps.TypeName(value)}' object has no attribute 'splitlines'");
                return Indent(indented, args);
            case "attr": return PyOps.GetAttr(value, ArgString(args, 0, "name"));
            case "format": return PyFormat.Percent(PyFormat.Str(value), args.Positional.ToArray());
            case "pprint": return PyFormat.Repr(value);
            default: return SequenceFilters.Apply(context, name, value, args);
        }
    }

    public static string ArgString(CallArgs args, int position, string name)
    {
        var value = args.Get(position, name, new Undefined($"missing argument '{name}'"));
        if (value is Undefined u) throw u.Fail();
        return PyFormat.Str(value);
    }

    /// <summary>transformers' override: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).</summary>
    private static string ToJson(object? value, CallArgs args)
    {
        args.Check("tojson", "ensure_ascii", "indent", "separators", "sort_keys");
        bool ensureAscii = PyOps.Truthy(args.Get(0, "ensure_ascii", false));
        string? indent = args.Get(1, "indent", null) switch
        {
            null => null,
            string s => s,
            var i when PyOps.TryInt(i, out long spaces) => new string(' ', (int)Math.Clamp(spaces, 0, 64)),
            var other => throw new JinjaRuntimeError($"indent must be an int or a string, not {PyOps.TypeName(other)}"),
        };
        string? itemSeparator = null, keySeparator = null;
        if (args.Get(2, "separators", null) is IReadOnlyList<object?> { Count: 2 } separators)
        {
            itemSeparator = PyFormat.Str(separators[0]);
            keySeparator = PyFormat.Str(separators[1]);
        }
        bool sortKeys = PyOps.Truthy(args.Get(3, "sort_keys", false));
        return new PyJson(ensureAscii, indent, itemSeparator, keySeparator, sortKeys).Serialize(value);
    }

    private static string Join(object? value, CallArgs args)
    {
        args.Check("join", "d", "attribute");
        string separator = PyFormat.Str(args.Get(0, "d", ""));
        var attribute = args.Get(1, "attribute", null);
        var sb = new StringBuilder();
        bool first = true;
        foreach (var item in PyOps.Iterate(value))
        {
            if (!first) sb.Append(separator);
            first = false;
            sb.Append(PyFormat.Str(attribute is null ? item : SequenceFilters.GetPath(item, attribute)));
        }
        return sb.ToString();
    }

    private static object? ToInt(object? value, CallArgs args)
    {
        args.Check("int", "default", "base");
        var fallback = args.Get(0, "default", 0L);
        switch (value)
        {
            case long or bool: return PyOps.TryInt(value, out long l) ? l : fallback;
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                string trimmed = s.Trim().Replace("_", "", StringComparison.Ordinal);
                long numberBase = PyOps.TryInt(args.Get(1, "base", 10L), out long b) ? b : 10;
                if (numberBase == 10 && long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed)) return parsed;
                if (numberBase == 16 && long.TryParse(trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? trimmed[2..] : trimmed,
                        NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex)) return hex;
                if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && double.IsFinite(f))
                    return (long)Math.Truncate(f);
                return fallback;
            default: return fallback;
        }
    }

    private static object? ToFloat(object? value, CallArgs args)
    {
        args.Check("float", "default");
        var fallback = args.Get(0, "default", 0.0);
        return value switch
        {
            long or bool or double => PyOps.ToDouble(value),
            string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => fallback,
        };
    }

    private static object? Round(object? value, CallArgs args)
    {
        args.Check("round", "precision", "method");
        double x = PyOps.ToDouble(value);
        string roundMethod = PyFormat.Str(args.Get(1, "method", "common"));
        // Python's round() of an int stays an int; ceil and floor divide and so give floats.
        if (roundMethod == "common" && PyOps.TryInt(value, out long whole)) return whole;
        int precision = PyOps.TryInt(args.Get(0, "precision", 0L), out long p) ? (int)Math.Clamp(p, 0, 15) : 0;
        string method = PyFormat.Str(args.Get(1, "method", "common"));
        double scale = Math.Pow(10, precision);
        return method switch
        {
            "common" => Math.Round(x, precision, MidpointRounding.ToEven),
            "ceil" => Math.Ceiling(x * scale) / scale,
            "floor" => Math.Floor(x * scale) / scale,
            _ => throw new JinjaRuntimeError("method must be common, ceil or floor"),
        };
    }

    /// <summary>
    /// Jinja's title filter (not Python's str.title): words start after runs of whitespace, '-', '(', '{', '[' or
    /// '&lt;'; each word gets its first character upper-cased and the rest lower-cased.
    /// </summary>
    private static string TitleWords(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = PyStrings.IsSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            if (separator) sb.Append(c);
            else sb.Append(wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }
        return sb.ToString();
    }

    /// <summary>Jinja counts matches of the regex \w+, so punctuation separates words too.</summary>
    private static long WordCount(string s)
    {
        long count = 0;
        bool inWord = false;
        foreach (char c in s)
        {
            bool word = char.IsLetterOrDigit(c) || c == '_';
            if (word && !inWord) count++;
            inWord = word;
        }
        return count;
    }

    private static string Escape(string s) => s
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&#34;", StringComparison.Ordinal)
        .Replace("'", "&#39;", StringComparison.Ordinal);

    /// <summary>Jinja 3's indent: every line but the first (unless first=True), blank lines only with blank=True.</summary>
    private static string Indent(string s, CallArgs args)
    {
        args.Check("indent", "width", "first", "blank");
        var width = args.Get(0, "width", 4L);
        string indentation = width is string w ? w : new string(' ', PyOps.TryInt(width, out long n) ? (int)Math.Clamp(n, 0, 1024) : 4);
        bool first = PyOps.Truthy(args.Get(1, "first", false));
        bool blank = PyOps.Truthy(args.Get(2, "blank", false));
        var lines = (s + "\n").Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n').ToList();
        lines.RemoveAt(lines.Count - 1);
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
                if (blank || lines[i].Length > 0) sb.Append(indentation);
            }
            sb.Append(lines[i]);
        }
        return first ? indentation + sb : sb.ToString();
    }
}
