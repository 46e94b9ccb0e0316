namespace Hearth.Tokenization.Templates;

/// <summary>Jinja's tests (`x is defined`), with Python's type rules: bool counts as a number, dict as a sequence.</summary>
internal static class TestFunctions
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "defined", "undefined", "none", "string", "number", "false", "true", "mapping", "sequence", "iterable",
        "boolean", "integer", "float", "callable", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=",
        "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas", "lower", "upper",
        "escaped", "filter", "test",
    };

    public static bool Exists(string name) => Names.Contains(name);

    public static bool Apply(RenderContext context, string name, object? value, CallArgs args)
    {
        object? Arg() => args.Positional.Count > 0 ? args.Positional[0] : throw new JinjaRuntimeError($"test '{name}' needs an argument");
        switch (name)
        {
            case "defined": return value is not Undefined;
            case "undefined": return value is Undefined;
            case "none": return value is null;
            case "string": return value is string;
            case "number": return value is long or double or bool;
            case "false": return value is false;
            case "true": return value is true;
            case "boolean": return value is bool;
            case "integer": return value is long;
            case "float": return value is double;
            case "mapping": return value is PyDict;
            case "sequence": return value is string or List<object?> or object?[] or PyDict or Undefined;
            case "iterable": return value is string or List<object?> or object?[] or PyDict or Undefined;
            case "callable": return value is PyCallable;
            case "odd": return AsInt(value) % 2 != 0;
            case "even": return AsInt(value) % 2 == 0;
            case "divisibleby":
                long divisor = AsInt(Arg());
                if (divisor == 0) throw new JinjaRuntimeError("integer division or modulo by zero");
                return AsInt(value) % divisor == 0;
            case "eq" or "equalto" or "==": return PyOps.Eq(value, Arg());
            case "ne" or "!=": return !PyOps.Eq(value, Arg());
            case "lt" or "lessthan" or "<": return PyOps.Compare(value, Arg(), "<") < 0;
            case "le" or "<=": return PyOps.Compare(value, Arg(), "<=") <= 0;
            case "gt" or "greaterthan" or ">": return PyOps.Compare(value, Arg(), ">") > 0;
            case "ge" or ">=": return PyOps.Compare(value, Arg(), ">=") >= 0;
            case "in": return PyOps.Contains(Arg(), value);
            case "sameas": return SameAs(value, Arg());
            case "lower": return value is string lower && lower == lower.ToLowerInvariant();
            case "upper": return value is string upper && upper == upper.ToUpperInvariant();
            case "escaped": return false;
            case "filter": return value is string f && Filters.Exists(f);
            case "test": return value is string t && Exists(t);
            default: throw new JinjaRuntimeError($"no test named '{name}'");
        }
    }

    /// <summary>Python `is`: identity for None and booleans, equal value for small scalars.</summary>
    private static bool SameAs(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is bool ba) return b is bool bb && ba == bb;
        if (a is long la) return b is long lb && la == lb;
        if (a is string sa) return b is string sb && sa == sb;
        return ReferenceEquals(a, b);
    }

    private static long AsInt(object? value)
    {
        if (value is Undefined u) throw u.Fail();
        if (PyOps.TryInt(value, out long l)) return l;
        if (value is double d) return (long)d;
        throw new JinjaRuntimeError($"expected a number, got {PyOps.TypeName(value)}");
    }
}
