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

    /// <summary>Tests that take no argument besides the value; Python rejects extra ones.</summary>
    private static readonly HashSet<string> Unary = new(StringComparer.Ordinal)
    {
        "defined", "undefined", "none", "string", "number", "false", "true", "mapping", "sequence", "iterable",
        "boolean", "integer", "float", "callable", "odd", "even", "lower", "upper", "escaped", "filter", "test",
    };

    public static bool Apply(RenderContext context, string name, object? value, CallArgs args)
    {
        if (Unary.Contains(name) && args.Positional.Count + args.Named.Count > 0)
            throw new JinjaRuntimeError($"test_{name}() takes 1 positional argument but {args.Positional.Count + args.Named.Count + 1} were given");
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
            case "callable": return value is PyCallable or Undefined; // Undefined defines __call__ (to fail)
            case "odd": return PyOps.Eq(PyArithmetic.Binary("%", Number(value), 2L), 1L);
            case "even": return PyOps.Eq(PyArithmetic.Binary("%", Number(value), 2L), 0L);
            case "divisibleby": return PyOps.Eq(PyArithmetic.Binary("%", Number(value), Number(Arg())), 0L);
            case "eq" or "equalto" or "==": return PyOps.Eq(value, Arg());
            case "ne" or "!=": return !PyOps.Eq(value, Arg());
            case "lt" or "lessthan" or "<": return PyOps.Compare(value, Arg(), "<") < 0;
            case "le" or "<=": return PyOps.Compare(value, Arg(), "<=") <= 0;
            case "gt" or "greaterthan" or ">": return PyOps.Compare(value, Arg(), ">") > 0;
            case "ge" or ">=": return PyOps.Compare(value, Arg(), ">=") >= 0;
            case "in": return PyOps.Contains(Arg(), value);
            case "sameas": return SameAs(value, Arg());
            case "lower": return PyStrings.IsLower(PyFormat.Str(value));
            case "upper": return PyStrings.IsUpper(PyFormat.Str(value));
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

    private static object? Number(object? value)
    {
        if (value is Undefined u) throw u.Fail();
        if (PyOps.IsNumber(value)) return value;
        throw new JinjaRuntimeError($"expected a number, got {PyOps.TypeName(value)}");
    }
}
