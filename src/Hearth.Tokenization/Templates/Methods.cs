using System.Globalization;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Python methods callable from templates (`s.strip('\n')`, `d.get('k')`). As in transformers' immutable
/// sandbox, nothing here mutates a list or dict.
/// </summary>
internal static class Methods
{
    public static object? Invoke(object target, string name, CallArgs args) => target switch
    {
        string s => StringMethod(s, name, args),
        PyDict d => DictMethod(d, name, args),
        IReadOnlyList<object?> list => ListMethod(list, name, args),
        LoopInfo loop when name == "cycle" => loop.Cycle(args),
        _ => throw new JinjaRuntimeError($"'{PyOps.TypeName(target)}' object has no method '{name}'"),
    };

    private static object? StringMethod(string s, string name, CallArgs args)
    {
        switch (name)
        {
            case "startswith" or "endswith":
                args.Check(name, "prefix");
                var affix = args.Get(0, "prefix", null);
                bool starts = name == "startswith";
                if (affix is string one) return starts ? s.StartsWith(one, StringComparison.Ordinal) : s.EndsWith(one, StringComparison.Ordinal);
                if (affix is object?[] options)
                    return options.Any(o => o is string x && (starts ? s.StartsWith(x, StringComparison.Ordinal) : s.EndsWith(x, StringComparison.Ordinal)));
                throw new JinjaRuntimeError($"{name} first arg must be str or a tuple of str, not {PyOps.TypeName(affix)}");
            case "split" or "rsplit":
                args.Check(name, "sep", "maxsplit");
                var separator = OptionalString(args.Get(0, "sep", null), name);
                long maxSplit = PyOps.TryInt(args.Get(1, "maxsplit", -1L), out long m) ? m : -1;
                return name == "split" ? PyStrings.Split(s, separator, maxSplit) : PyStrings.RSplit(s, separator, maxSplit);
            case "strip" or "lstrip" or "rstrip":
                args.Check(name, "chars");
                var chars = OptionalString(args.Get(0, "chars", null), name);
                return PyStrings.Strip(s, chars, name != "rstrip", name != "lstrip");
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "title": return PyStrings.Title(s);
            case "capitalize": return PyStrings.Capitalize(s);
            case "replace":
                args.Check(name, "old", "new", "count");
                long count = PyOps.TryInt(args.Get(2, "count", -1L), out long c) ? c : -1;
                return PyStrings.Replace(s, RequiredString(args, 0, "old", name), RequiredString(args, 1, "new", name), count);
            case "find" or "rfind" or "index":
                args.Check(name, "sub");
                string sub = RequiredString(args, 0, "sub", name);
                int at = name == "rfind" ? s.LastIndexOf(sub, StringComparison.Ordinal) : s.IndexOf(sub, StringComparison.Ordinal);
                if (at < 0 && name == "index") throw new JinjaRuntimeError("substring not found");
                return at < 0 ? -1L : (long)PyStrings.Length(s.Substring(0, at));
            case "count":
                args.Check(name, "sub");
                string needle = RequiredString(args, 0, "sub", name);
                if (needle.Length == 0) return (long)PyStrings.Length(s) + 1;
                long found = 0;
                for (int i = s.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = s.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) found++;
                return found;
            case "join":
                args.Check(name, "iterable");
                var parts = PyOps.Iterate(args.Get(0, "iterable", null));
                foreach (var part in parts)
                {
                    if (part is not string) throw new JinjaRuntimeError($"sequence item: expected str instance, {PyOps.TypeName(part)} found");
                }
                return string.Join(s, parts.Cast<string>());
            case "format": return Format(s, args);
            case "splitlines":
                string normalized = s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
                if (normalized.EndsWith('\n')) normalized = normalized[..^1];
                return s.Length == 0 ? new List<object?>() : normalized.Split('\n').ToList<object?>();
            case "removeprefix":
                string prefix = RequiredString(args, 0, "prefix", name);
                return s.StartsWith(prefix, StringComparison.Ordinal) ? s.Substring(prefix.Length) : s;
            case "removesuffix":
                string suffix = RequiredString(args, 0, "suffix", name);
                return suffix.Length > 0 && s.EndsWith(suffix, StringComparison.Ordinal) ? s.Substring(0, s.Length - suffix.Length) : s;
            case "partition" or "rpartition":
                string sep = RequiredString(args, 0, "sep", name);
                if (sep.Length == 0) throw new JinjaRuntimeError("empty separator");
                int cut = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                if (cut < 0) return name == "partition" ? new object?[] { s, "", "" } : new object?[] { "", "", s };
                return new object?[] { s.Substring(0, cut), sep, s.Substring(cut + sep.Length) };
            case "zfill" or "ljust" or "rjust" or "center": return Pad(s, name, args);
            case "isnumeric" or "isdecimal": return s.Length > 0 && s.All(char.IsDigit);
            case "swapcase": return string.Concat(s.Select(ch => char.IsUpper(ch) ? char.ToLowerInvariant(ch) : char.ToUpperInvariant(ch)));
            case "casefold": return s.ToLowerInvariant();
            case "istitle": return IsTitle(s);
            case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(PyStrings.IsSpace);
            case "isupper": return PyStrings.IsUpper(s);
            case "islower": return PyStrings.IsLower(s);
            default: throw new JinjaRuntimeError($"'str' object has no method '{name}'");
        }
    }

    /// <summary>str.istitle: upper-case letters only start words, lower-case ones only continue them.</summary>
    private static bool IsTitle(string s)
    {
        bool cased = false, previousCased = false;
        foreach (char c in s)
        {
            if (char.IsUpper(c))
            {
                if (previousCased) return false;
                previousCased = cased = true;
            }
            else if (char.IsLower(c))
            {
                if (!previousCased) return false;
                previousCased = cased = true;
            }
            else
            {
                previousCased = false;
            }
        }
        return cased;
    }

    private static string Pad(string s, string name, CallArgs args)
    {
        if (!PyOps.TryInt(args.Get(0, "width", null), out long width)) throw new JinjaRuntimeError($"{name}() needs an integer width");
        string fill = args.Get(1, "fillchar", " ") is string f && f.Length == 1 ? f : " ";
        int length = PyStrings.Length(s);
        if (width <= length) return s;
        int total = (int)Math.Min(width - length, PyArithmetic.MaxBuiltLength);
        switch (name)
        {
            case "ljust": return s + new string(fill[0], total);
            case "rjust": return new string(fill[0], total) + s;
            case "center":
                int left = total / 2 + (total & (int)width & 1);
                return new string(fill[0], left) + s + new string(fill[0], total - left);
            default:
                bool signed = s.Length > 0 && (s[0] == '-' || s[0] == '+');
                return signed ? s[0] + new string('0', total) + s.Substring(1) : new string('0', total) + s;
        }
    }

    private static string? OptionalString(object? value, string method) => value switch
    {
        null => null,
        string s => s,
        _ => throw new JinjaRuntimeError($"{method} arg must be None or str, not {PyOps.TypeName(value)}"),
    };

    private static string RequiredString(CallArgs args, int position, string name, string method)
    {
        var value = args.Get(position, name, new Undefined($"{method}() missing required argument '{name}'"));
        if (value is Undefined u) throw u.Fail();
        if (value is not string s) throw new JinjaRuntimeError($"{method}() argument must be str, not {PyOps.TypeName(value)}");
        return s;
    }

    /// <summary>str.format with `{}`, `{0}` and `{name}` fields (no format specs).</summary>
    private static string Format(string format, CallArgs args)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < format.Length && format[i + 1] == '}')
            {
                sb.Append('}');
                i++;
            }
            else if (c == '{')
            {
                int close = format.IndexOf('}', i);
                if (close < 0) throw new JinjaRuntimeError("Single '{' encountered in format string");
                string field = format.Substring(i + 1, close - i - 1);
                object? value;
                if (field.Length == 0) value = At(args, auto++);
                else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index)) value = At(args, index);
                else value = args.Named.FirstOrDefault(kv => kv.Key == field) is { Key: not null } kv ? kv.Value : throw new JinjaRuntimeError($"KeyError: '{field}'");
                sb.Append(PyFormat.Str(value));
                i = close;
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static object? At(CallArgs args, int index) =>
        index < args.Positional.Count ? args.Positional[index] : throw new JinjaRuntimeError("Replacement index out of range for positional args tuple");

    private static object? DictMethod(PyDict dict, string name, CallArgs args)
    {
        switch (name)
        {
            case "items": return dict.Entries.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList();
            case "keys": return dict.Entries.Select(kv => kv.Key).ToList();
            case "values": return dict.Entries.Select(kv => kv.Value).ToList();
            case "get":
                args.Check("get", "key", "default");
                var key = args.Get(0, "key", null);
                return dict.TryGet(key, out var value) ? value : args.Get(1, "default", null);
            case "copy":
                var copy = new PyDict();
                foreach (var kv in dict.Entries) copy.Set(kv.Key, kv.Value);
                return copy;
            default: throw new JinjaRuntimeError($"'dict' object has no method '{name}'");
        }
    }

    private static object? ListMethod(IReadOnlyList<object?> list, string name, CallArgs args)
    {
        var needle = args.Get(0, "value", null);
        switch (name)
        {
            case "count": return (long)list.Count(item => PyOps.Eq(item, needle));
            case "index":
                for (int i = 0; i < list.Count; i++)
                {
                    if (PyOps.Eq(list[i], needle)) return (long)i;
                }
                throw new JinjaRuntimeError($"{PyFormat.Repr(needle)} is not in list");
            default: throw new JinjaRuntimeError($"'{PyOps.TypeName(list)}' object has no method '{name}'");
        }
    }
}
