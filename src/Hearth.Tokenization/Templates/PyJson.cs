using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Python's json.dumps as transformers' tojson filter calls it (ensure_ascii=False by default): ", " and ": "
/// separators, keys in insertion order, floats as repr, control characters escaped as \u00XX.
/// </summary>
internal sealed class PyJson
{
    private readonly bool _ensureAscii;
    private readonly string? _indent;
    private readonly string _itemSeparator;
    private readonly string _keySeparator;
    private readonly bool _sortKeys;
    private readonly StringBuilder _sb = new();

    public PyJson(bool ensureAscii, string? indent, string? itemSeparator, string? keySeparator, bool sortKeys)
    {
        _ensureAscii = ensureAscii;
        _indent = indent;
        // Python switches the default item separator to "," when indenting, so lines carry no trailing space.
        _itemSeparator = itemSeparator ?? (indent is null ? ", " : ",");
        _keySeparator = keySeparator ?? ": ";
        _sortKeys = sortKeys;
    }

    public static string Dumps(object? value) => new PyJson(false, null, null, null, false).Serialize(value);

    public string Serialize(object? value)
    {
        _sb.Clear();
        Write(value, 0);
        return _sb.ToString();
    }

    private void Write(object? value, int level)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (value)
        {
            case null: _sb.Append("null"); break;
            case bool b: _sb.Append(b ? "true" : "false"); break;
            case long l: _sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: _sb.Append(FloatJson(d)); break;
            case string s: WriteString(s); break;
            case List<object?> list: WriteArray(list, level); break;
            case object?[] tuple: WriteArray(tuple, level); break;
            case PyDict dict: WriteObject(dict, level); break;
            default: throw new JinjaRuntimeError($"Object of type {PyOps.TypeName(value)} is not JSON serializable");
        }
    }

    private static string FloatJson(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "Infinity" : "-Infinity";
        return PyFormat.FloatRepr(d);
    }

    private void WriteArray(IReadOnlyList<object?> items, int level)
    {
        if (items.Count == 0)
        {
            _sb.Append("[]");
            return;
        }
        _sb.Append('[');
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) _sb.Append(_itemSeparator);
            NewLine(level + 1);
            Write(items[i], level + 1);
        }
        NewLine(level);
        _sb.Append(']');
    }

    private void WriteObject(PyDict dict, int level)
    {
        if (dict.Count == 0)
        {
            _sb.Append("{}");
            return;
        }
        IEnumerable<KeyValuePair<object?, object?>> entries = dict.Entries;
        if (_sortKeys) entries = entries.OrderBy(kv => kv.Key, Comparer<object?>.Create((a, b) => PyOps.Compare(a, b, "<")));
        _sb.Append('{');
        bool first = true;
        foreach (var kv in entries)
        {
            if (!first) _sb.Append(_itemSeparator);
            first = false;
            NewLine(level + 1);
            WriteString(KeyString(kv.Key));
            _sb.Append(_keySeparator);
            Write(kv.Value, level + 1);
        }
        NewLine(level);
        _sb.Append('}');
    }

    private static string KeyString(object? key) => key switch
    {
        string s => s,
        null => "null",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatJson(d),
        _ => throw new JinjaRuntimeError($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
    };

    private void NewLine(int level)
    {
        if (_indent is null) return;
        _sb.Append('\n');
        for (int i = 0; i < level; i++) _sb.Append(_indent);
    }

    private void WriteString(string s)
    {
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\r': _sb.Append("\\r"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\b': _sb.Append("\\b"); break;
                case '\f': _sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (_ensureAscii && c > 0x7e))
                        _sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        _sb.Append(c);
                    break;
            }
        }
        _sb.Append('"');
    }
}
