using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>Python's str() and repr() of template values, which is what `{{ x }}` prints.</summary>
internal static class PyFormat
{
    public static string Str(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => Repr(value),
    };

    public static string Repr(object? value)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, value);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? value)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (value)
        {
            case string s: AppendStringRepr(sb, s); break;
            case List<object?> list: AppendItems(sb, "[", list, "]"); break;
            case object?[] tuple: AppendItems(sb, "(", tuple, tuple.Length == 1 ? ",)" : ")"); break;
            case PyDict dict:
                sb.Append('{');
                for (int i = 0; i < dict.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, dict.Entries[i].Key);
                    sb.Append(": ");
                    AppendRepr(sb, dict.Entries[i].Value);
                }
                sb.Append('}');
                break;
            case Undefined: sb.Append("Undefined"); break;
            case JinjaNamespace: sb.Append("<Namespace>"); break;
            case PyCallable c: sb.Append("<function ").Append(c.Name).Append('>'); break;
            case LoopInfo: sb.Append("<LoopContext>"); break;
            default: sb.Append(Str(value)); break;
        }
    }

    private static void AppendItems(StringBuilder sb, string open, IReadOnlyList<object?> items, string close)
    {
        sb.Append(open);
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            AppendRepr(sb, items[i]);
        }
        sb.Append(close);
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (var rune in s.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == quote || cp == '\\') sb.Append('\\').Append((char)cp);
            else if (cp == '\n') sb.Append("\\n");
            else if (cp == '\r') sb.Append("\\r");
            else if (cp == '\t') sb.Append("\\t");
            else if (IsPrintable(rune)) sb.Append(rune.ToString());
            else if (cp < 0x100) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            else if (cp < 0x10000) sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
        }
        sb.Append(quote);
    }

    private static bool IsPrintable(Rune rune)
    {
        if (rune.Value == ' ') return true;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }

    /// <summary>
    /// Python's repr(float): the shortest digits that round-trip, positional for exponents in [-4, 16), else
    /// scientific with a signed two-digit exponent (1e-05, 1e+16), and ".0" on integral values.
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exponent = 0;
        int e = r.IndexOfAny(new[] { 'E', 'e' });
        string mantissa = r;
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = r.Substring(0, e);
        }
        int dot = mantissa.IndexOf('.');
        string digits = dot >= 0 ? mantissa.Remove(dot, 1) : mantissa;
        int integerDigits = dot >= 0 ? dot : mantissa.Length;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits.Substring(lead).TrimEnd('0');
        integerDigits -= lead;
        if (digits.Length == 0) digits = "0";
        int point = integerDigits + exponent; // value = 0.DIGITS * 10^point
        string body;
        if (point <= -4 || point > 16)
        {
            int shown = point - 1;
            body = digits.Substring(0, 1) + (digits.Length > 1 ? "." + digits.Substring(1) : "")
                + "e" + (shown < 0 ? "-" : "+") + Math.Abs(shown).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (point <= 0)
        {
            body = "0." + new string('0', -point) + digits;
        }
        else if (point >= digits.Length)
        {
            body = digits + new string('0', point - digits.Length) + ".0";
        }
        else
        {
            body = digits.Substring(0, point) + "." + digits.Substring(point);
        }
        return d < 0 ? "-" + body : body;
    }

    /// <summary>printf-style `"%s and %d" % (a, b)` for the conversions templates use: s, r, d, i, f, %.</summary>
    public static string Percent(string format, object? args)
    {
        IReadOnlyList<object?> values = args is object?[] tuple ? tuple : new[] { args };
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (++i >= format.Length) throw new JinjaRuntimeError("incomplete format");
            int precision = -1;
            if (format[i] == '.')
            {
                int start = ++i;
                while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
                precision = start == i ? 0 : int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture);
                if (i >= format.Length) throw new JinjaRuntimeError("incomplete format");
            }
            char conversion = format[i];
            if (conversion == '%')
            {
                sb.Append('%');
                continue;
            }
            if (next >= values.Count) throw new JinjaRuntimeError("not enough arguments for format string");
            object? value = values[next++];
            sb.Append(conversion switch
            {
                's' => Str(value),
                'r' => Repr(value),
                'd' or 'i' => ((long)Math.Truncate(PyOps.ToDouble(value))).ToString(CultureInfo.InvariantCulture),
                'f' => PyOps.ToDouble(value).ToString("F" + (precision < 0 ? 6 : precision), CultureInfo.InvariantCulture),
                _ => throw new JinjaRuntimeError($"unsupported format character '{conversion}'"),
            });
        }
        // Python ignores an unused argument that supports indexing (dict, list) but rejects any other.
        if (next < values.Count && args is not PyDict && args is not List<object?> && args is not Undefined) throw new JinjaRuntimeError("not all arguments converted during string formatting");
        return sb.ToString();
    }
}
