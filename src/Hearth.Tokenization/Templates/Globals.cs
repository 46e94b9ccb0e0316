using System.Globalization;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Functions every template sees: Jinja's range, namespace and dict, plus the two globals transformers adds for
/// chat templates, raise_exception(message) and strftime_now(format).
/// </summary>
internal static class Globals
{
    /// <summary>Jinja's sandbox refuses larger ranges; so do we.</summary>
    public const long MaxRange = 100_000;

    public static IReadOnlyDictionary<string, object?> Create(Func<DateTime> now) => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["range"] = new BuiltinFunction("range", (_, args) => Range(args)),
        ["namespace"] = new BuiltinFunction("namespace", (_, args) => Namespace(args)),
        ["dict"] = new BuiltinFunction("dict", (_, args) => Dict(args)),
        ["raise_exception"] = new BuiltinFunction("raise_exception", (_, args) =>
            throw new JinjaRuntimeError(args.Positional.Count > 0 ? PyFormat.Str(args.Positional[0]) : "raise_exception called")),
        ["strftime_now"] = new BuiltinFunction("strftime_now", (_, args) => StrFTime(now(), Filters.ArgString(args, 0, "format"))),
    };

    private static object? Range(CallArgs args)
    {
        if (args.Named.Count > 0) throw new JinjaRuntimeError("range() takes no keyword arguments");
        var numbers = new long[args.Positional.Count];
        for (int i = 0; i < numbers.Length; i++)
        {
            if (args.Positional[i] is Undefined u) throw u.Fail();
            if (!PyOps.TryInt(args.Positional[i], out numbers[i]))
                throw new JinjaRuntimeError($"'{PyOps.TypeName(args.Positional[i])}' object cannot be interpreted as an integer");
        }
        long start = 0, stop, step = 1;
        switch (numbers.Length)
        {
            case 1: stop = numbers[0]; break;
            case 2: (start, stop) = (numbers[0], numbers[1]); break;
            case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2]); break;
            default: throw new JinjaRuntimeError($"range expected 1 to 3 arguments, got {numbers.Length}");
        }
        if (step == 0) throw new JinjaRuntimeError("range() arg 3 must not be zero");
        double count = Math.Max(0, Math.Ceiling(((double)stop - start) / step));
        if (count > MaxRange) throw new JinjaRuntimeError($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        var result = new List<object?>((int)count);
        for (long i = 0; i < (long)count; i++) result.Add(start + i * step);
        return result;
    }

    private static object? Namespace(CallArgs args)
    {
        var ns = new JinjaNamespace();
        foreach (var positional in args.Positional)
        {
            if (positional is not PyDict initial) throw new JinjaRuntimeError("namespace() takes only a mapping as positional argument");
            foreach (var kv in initial.Entries) ns.Attributes[PyFormat.Str(kv.Key)] = kv.Value;
        }
        foreach (var kv in args.Named) ns.Attributes[kv.Key] = kv.Value;
        return ns;
    }

    private static object? Dict(CallArgs args)
    {
        var dict = new PyDict();
        foreach (var positional in args.Positional)
        {
            if (positional is not PyDict initial) throw new JinjaRuntimeError("dict() takes only a mapping as positional argument");
            foreach (var kv in initial.Entries) dict.Set(kv.Key, kv.Value);
        }
        foreach (var kv in args.Named) dict.Set(kv.Key, kv.Value);
        return dict;
    }

    /// <summary>Python's time.strftime for the C-locale directives, including glibc's %-d style no-padding flag.</summary>
    public static string StrFTime(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char d = format[++i];
            bool noPad = false;
            if (d == '-' && i + 1 < format.Length)
            {
                noPad = true;
                d = format[++i];
            }
            string Pad(int value, int width) => noPad ? value.ToString(inv) : value.ToString(new string('0', width), inv);
            sb.Append(d switch
            {
                'Y' => t.Year.ToString(inv),
                'y' => Pad(t.Year % 100, 2),
                'm' => Pad(t.Month, 2),
                'd' => Pad(t.Day, 2),
                'e' => noPad ? t.Day.ToString(inv) : t.Day.ToString(inv).PadLeft(2),
                'H' => Pad(t.Hour, 2),
                'I' => Pad(t.Hour % 12 == 0 ? 12 : t.Hour % 12, 2),
                'M' => Pad(t.Minute, 2),
                'S' => Pad(t.Second, 2),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'B' => inv.DateTimeFormat.GetMonthName(t.Month),
                'b' or 'h' => inv.DateTimeFormat.GetAbbreviatedMonthName(t.Month),
                'A' => inv.DateTimeFormat.GetDayName(t.DayOfWeek),
                'a' => inv.DateTimeFormat.GetAbbreviatedDayName(t.DayOfWeek),
                'j' => Pad(t.DayOfYear, 3),
                'w' => ((int)t.DayOfWeek).ToString(inv),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv),
                'F' => t.ToString("yyyy-MM-dd", inv),
                'T' => t.ToString("HH:mm:ss", inv),
                'D' => t.ToString("MM/dd/yy", inv),
                '%' => "%",
                _ => "%" + d,
            });
        }
        return sb.ToString();
    }
}
