using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Python semantics of the value model. None is C# null; bool, long, double and string map directly; a list is
/// List&lt;object?&gt;, a tuple object?[], a dict PyDict.
/// </summary>
internal static class PyOps
{
    private static readonly string[] DictMethods = { "items", "keys", "values", "get", "copy" };
    private static readonly string[] StringMethods =
    {
        "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "replace",
        "title", "capitalize", "find", "rfind", "count", "join", "format", "isdigit", "isalpha", "isalnum",
        "isspace", "isupper", "islower", "splitlines", "index", "removeprefix", "removesuffix", "partition",
        "rpartition", "zfill", "ljust", "rjust", "center", "isnumeric", "isdecimal", "swapcase", "casefold", "istitle",
    };
    private static readonly string[] ListMethods = { "index", "count" };

    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        object?[] => "tuple",
        PyDict => "dict",
        Undefined => "Undefined",
        JinjaNamespace => "Namespace",
        LoopInfo => "LoopContext",
        PyCallable => "function",
        _ => value.GetType().Name,
    };

    public static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        object?[] tuple => tuple.Length > 0,
        PyDict dict => dict.Count > 0,
        Undefined => false,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long || value is double || value is bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new JinjaRuntimeError($"expected a number, got {TypeName(value)}"),
    };

    /// <summary>An int for Python purposes (bool counts as int).</summary>
    public static bool TryInt(object? value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case bool b: result = b ? 1 : 0; return true;
            default: result = 0; return false;
        }
    }

    public static bool Eq(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b))
        {
            if (TryInt(a, out long la) && TryInt(b, out long lb)) return la == lb;
            return ToDouble(a) == ToDouble(b);
        }
        switch (a)
        {
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case List<object?> la2: return b is List<object?> lb2 && SequenceEq(la2, lb2);
            case object?[] ta: return b is object?[] tb && SequenceEq(ta, tb);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count) return false;
                foreach (var kv in da.Entries)
                {
                    if (!db.TryGet(kv.Key, out var other) || !Eq(kv.Value, other)) return false;
                }
                return true;
            default: return ReferenceEquals(a, b);
        }
    }

    private static bool SequenceEq(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            if (!Eq(a[i], b[i])) return false;
        }
        return true;
    }

    /// <summary>Python ordering for &lt; &gt; &lt;= &gt;=; mixed types raise TypeError like Python 3.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (TryInt(a, out long la) && TryInt(b, out long lb)) return la.CompareTo(lb);
            double da = ToDouble(a), db = ToDouble(b);
            return da < db ? -1 : da > db ? 1 : 0;
        }
        if (a is string sa && b is string sb) return PyStrings.CompareCodePoints(sa, sb);
        if ((a is List<object?> && b is List<object?>) || (a is object?[] && b is object?[]))
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            var x = (IReadOnlyList<object?>)a;
            var y = (IReadOnlyList<object?>)b;
            for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
            {
                if (!Eq(x[i], y[i])) return Compare(x[i], y[i], op);
            }
            return x.Count.CompareTo(y.Count);
        }
        throw new JinjaRuntimeError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>`needle in haystack`.</summary>
    public static bool Contains(object? haystack, object? needle)
    {
        switch (haystack)
        {
            case string s:
                if (needle is string n) return s.Contains(n, StringComparison.Ordinal);
                throw new JinjaRuntimeError($"'in <string>' requires string as left operand, not {TypeName(needle)}");
            case List<object?> list:
                foreach (var item in list) if (Eq(item, needle)) return true;
                return false;
            case object?[] tuple:
                foreach (var item in tuple) if (Eq(item, needle)) return true;
                return false;
            case PyDict dict: return dict.ContainsKey(needle);
            case Undefined: return false;
            default: throw new JinjaRuntimeError($"argument of type '{TypeName(haystack)}' is not iterable");
        }
    }

    /// <summary>What `for x in value` walks over: list items, dict keys, string code points.</summary>
    public static IReadOnlyList<object?> Iterate(object? value)
    {
        switch (value)
        {
            case List<object?> list: return list;
            case object?[] tuple: return tuple;
            case PyDict dict:
                var keys = new List<object?>(dict.Count);
                foreach (var kv in dict.Entries) keys.Add(kv.Key);
                return keys;
            case string s: return PyStrings.CodePoints(s);
            case Undefined: return Array.Empty<object?>();
            default: throw new JinjaRuntimeError($"'{TypeName(value)}' object is not iterable");
        }
    }

    public static long Length(object? value) => value switch
    {
        string s => PyStrings.Length(s),
        List<object?> list => list.Count,
        object?[] tuple => tuple.Length,
        PyDict dict => dict.Count,
        Undefined => 0,
        _ => throw new JinjaRuntimeError($"object of type '{TypeName(value)}' has no len()"),
    };

    /// <summary>Jinja's getattr: `x.name`. Python attributes (methods) win over dict keys.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case PyDict dict:
                if (Array.IndexOf(DictMethods, name) >= 0) return new BoundMethod(dict, name);
                return dict.TryGet(name, out var value) ? value : Undefined.Attribute(dict, name);
            case string s:
                return Array.IndexOf(StringMethods, name) >= 0 ? new BoundMethod(s, name) : Undefined.Attribute(s, name);
            case List<object?> or object?[]:
                return Array.IndexOf(ListMethods, name) >= 0 ? new BoundMethod(obj, name) : Undefined.Attribute(obj, name);
            case JinjaNamespace ns:
                return ns.Attributes.TryGetValue(name, out var attr) ? attr : Undefined.Attribute(ns, name);
            case LoopInfo loop: return loop.GetAttribute(name);
            default: return Undefined.Attribute(obj, name);
        }
    }

    /// <summary>Jinja's getitem: `x[key]`; falls back to an attribute for string keys; misses give Undefined.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        if (obj is Undefined u) throw u.Fail();
        switch (obj)
        {
            case PyDict dict:
                if (key is not List<object?> && key is not PyDict && dict.TryGet(key, out var value)) return value;
                break;
            case List<object?> or object?[] or string:
                if (TryInt(key, out long index))
                {
                    if (obj is string s)
                    {
                        if (!PyStrings.HasSurrogates(s)) return Index(s.Length, index, i => s[i].ToString(), obj);
                        var points = PyStrings.CodePoints(s);
                        return Index(points.Length, index, i => points[i], obj);
                    }
                    var list = (IReadOnlyList<object?>)obj;
                    return Index(list.Count, index, i => list[i], obj);
                }
                break;
        }
        if (key is string name) return GetAttr(obj, name);
        return new Undefined($"'{TypeName(obj)} object' has no item {PyFormat.Repr(key)}");
    }

    private static object? Index(int count, long index, Func<int, object?> at, object obj)
    {
        if (index < 0) index += count;
        if (index < 0 || index >= count) return new Undefined($"'{TypeName(obj)} object' has no element {index}");
        return at((int)index);
    }

    /// <summary>Python slicing `x[start:stop:step]` for strings, lists and tuples.</summary>
    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        if (obj is Undefined u) throw u.Fail();
        long stepValue = 1;
        if (step is not null && !TryInt(step, out stepValue)) throw new JinjaRuntimeError("slice indices must be integers or None");
        if (stepValue == 0) throw new JinjaRuntimeError("slice step cannot be zero");
        IReadOnlyList<object?> items;
        switch (obj)
        {
            case string s: items = PyStrings.CodePoints(s); break;
            case List<object?> list: items = list; break;
            case object?[] tuple: items = tuple; break;
            // Jinja compiles slices to a plain Python subscript, so unlike item access a bad slice raises.
            case PyDict: throw new JinjaRuntimeError("unhashable type: 'slice'");
            default: throw new JinjaRuntimeError($"'{TypeName(obj)}' object is not subscriptable");
        }
        int count = items.Count;
        long lo = SliceBound(start, count, stepValue, isStart: true);
        long hi = SliceBound(stop, count, stepValue, isStart: false);
        var picked = new List<object?>();
        if (stepValue > 0)
        {
            for (long i = lo; i < hi; i += stepValue) picked.Add(items[(int)i]);
        }
        else
        {
            for (long i = lo; i > hi; i += stepValue) picked.Add(items[(int)i]);
        }
        return obj switch
        {
            string => string.Concat(picked.Cast<string>()),
            object?[] => picked.ToArray(),
            _ => picked,
        };
    }

    private static long SliceBound(object? bound, int count, long step, bool isStart)
    {
        if (bound is null) return step > 0 ? (isStart ? 0 : count) : (isStart ? count - 1 : -1);
        if (!TryInt(bound, out long value)) throw new JinjaRuntimeError("slice indices must be integers or None");
        if (value < 0)
        {
            value += count;
            if (value < 0) value = step > 0 ? 0 : -1;
        }
        else if (value >= count)
        {
            value = step > 0 ? count : count - 1;
        }
        return value;
    }
}
