namespace Hearth.Tokenization.Templates;

/// <summary>A literal string, number, boolean or none.</summary>
internal sealed class ConstExpr(int line, int column, object? value) : Expr(line, column)
{
    public object? Value { get; } = value;

    protected override object? EvalCore(RenderContext context) => Value;
}

internal sealed class NameExpr(int line, int column, string name) : Expr(line, column)
{
    public string Name { get; } = name;

    protected override object? EvalCore(RenderContext context) => context.Lookup(Name);
}

/// <summary>`[a, b]` or `(a, b)`: a fresh list or tuple on every evaluation.</summary>
internal sealed class SequenceExpr(int line, int column, List<Expr> items, bool isTuple) : Expr(line, column)
{
    public List<Expr> Items { get; } = items;

    public bool IsTuple { get; } = isTuple;

    protected override object? EvalCore(RenderContext context)
    {
        var values = new List<object?>(Items.Count);
        foreach (var item in Items) values.Add(item.Eval(context));
        return IsTuple ? values.ToArray() : values;
    }
}

internal sealed class DictExpr(int line, int column, List<(Expr Key, Expr Value)> pairs) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var dict = new PyDict();
        foreach (var (key, value) in pairs) dict.Set(key.Eval(context), value.Eval(context));
        return dict;
    }
}

internal sealed class AttrExpr(int line, int column, Expr target, string name) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context) => PyOps.GetAttr(target.Eval(context), name);
}

internal sealed class ItemExpr(int line, int column, Expr target, Expr key) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context) => PyOps.GetItem(target.Eval(context), key.Eval(context));
}

internal sealed class SliceExpr(int line, int column, Expr target, Expr? start, Expr? stop, Expr? step) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var obj = target.Eval(context);
        return PyOps.Slice(obj, start?.Eval(context), stop?.Eval(context), step?.Eval(context));
    }
}

internal sealed class CallExpr(int line, int column, Expr callee, ArgList args) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var function = callee.Eval(context);
        var values = args.Eval(context);
        return function switch
        {
            PyCallable callable => callable.Invoke(context, values),
            Undefined u => throw u.Fail(),
            _ => throw new JinjaRuntimeError($"'{PyOps.TypeName(function)}' object is not callable"),
        };
    }
}

/// <summary>`value | name(args)`.</summary>
internal sealed class FilterExpr(int line, int column, Expr? target, string name, ArgList args) : Expr(line, column)
{
    public string Name { get; } = name;

    protected override object? EvalCore(RenderContext context) =>
        Apply(context, target!.Eval(context));

    /// <summary>Also used by filter blocks, which feed rendered text instead of an expression.</summary>
    public object? Apply(RenderContext context, object? value)
    {
        try
        {
            return Filters.Apply(context, Name, value, args.Eval(context));
        }
        catch (JinjaRuntimeError e) when (!e.HasPosition)
        {
            e.Line = Line;
            e.Column = Column;
            throw;
        }
    }
}

/// <summary>`value is [not] name(args)`.</summary>
internal sealed class TestExpr(int line, int column, Expr target, string name, ArgList args, bool negated) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        bool result = TestFunctions.Apply(context, name, target.Eval(context), args.Eval(context));
        return negated ? !result : result;
    }
}

/// <summary>Unary `-`, `+` and `not`.</summary>
internal sealed class UnaryExpr(int line, int column, string op, Expr operand) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var value = operand.Eval(context);
        return op switch
        {
            "not" => !PyOps.Truthy(value),
            "-" => PyArithmetic.Negate(value),
            _ => PyArithmetic.Plus(value),
        };
    }
}

/// <summary>Arithmetic and `~` string concatenation.</summary>
internal sealed class BinaryExpr(int line, int column, string op, Expr left, Expr right) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var a = left.Eval(context);
        var b = right.Eval(context);
        if (op == "~") return PyFormat.Str(a) + PyFormat.Str(b);
        return PyArithmetic.Binary(op, a, b);
    }
}

/// <summary>`and` / `or` return one of their operands, as in Python.</summary>
internal sealed class LogicalExpr(int line, int column, bool isAnd, Expr left, Expr right) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var a = left.Eval(context);
        if (isAnd ? !PyOps.Truthy(a) : PyOps.Truthy(a)) return a;
        return right.Eval(context);
    }
}

/// <summary>A comparison chain `a &lt; b &lt;= c`, each link evaluated once, as in Python.</summary>
internal sealed class CompareExpr(int line, int column, Expr first, List<(string Op, Expr Operand)> rest) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        var left = first.Eval(context);
        foreach (var (op, operand) in rest)
        {
            var right = operand.Eval(context);
            if (!Holds(op, left, right)) return false;
            left = right;
        }
        return true;
    }

    private static bool Holds(string op, object? a, object? b) => op switch
    {
        "==" => PyOps.Eq(a, b),
        "!=" => !PyOps.Eq(a, b),
        "<" => PyOps.Compare(a, b, op) < 0,
        "<=" => PyOps.Compare(a, b, op) <= 0,
        ">" => PyOps.Compare(a, b, op) > 0,
        ">=" => PyOps.Compare(a, b, op) >= 0,
        "in" => PyOps.Contains(b, a),
        _ => !PyOps.Contains(b, a),
    };
}

/// <summary>`a if cond else b`; without else the result is undefined when cond is false.</summary>
internal sealed class CondExpr(int line, int column, Expr test, Expr then, Expr? otherwise) : Expr(line, column)
{
    protected override object? EvalCore(RenderContext context)
    {
        if (PyOps.Truthy(test.Eval(context))) return then.Eval(context);
        return otherwise is null ? new Undefined("the inline if-expression evaluated to false and no else section was defined") : otherwise.Eval(context);
    }
}
