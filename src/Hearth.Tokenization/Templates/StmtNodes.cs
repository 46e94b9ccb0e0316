namespace Hearth.Tokenization.Templates;

internal sealed class TextStmt(int line, int column, string text) : Stmt(line, column)
{
    public string Text { get; } = text;

    protected override Flow ExecuteCore(RenderContext context)
    {
        context.Write(Text);
        return Flow.Normal;
    }
}

/// <summary>`{{ expr }}`: prints str(value); undefined prints nothing.</summary>
internal sealed class OutputStmt(int line, int column, Expr expr) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        context.Write(PyFormat.Str(expr.Eval(context)));
        return Flow.Normal;
    }
}

internal sealed class IfStmt(int line, int column, List<(Expr Test, List<Stmt> Body)> branches, List<Stmt>? elseBody) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        foreach (var (test, body) in branches)
        {
            if (PyOps.Truthy(test.Eval(context))) return Stmt.Run(body, context);
        }
        return elseBody is null ? Flow.Normal : Stmt.Run(elseBody, context);
    }
}

/// <summary>
/// `for target in iterable [if filter]`: each iteration runs in its own child scope holding the target and
/// `loop`, so assignments inside do not survive the loop (use a namespace for that).
/// </summary>
internal sealed class ForStmt(int line, int column, AssignTarget target, Expr iterable, Expr? filter, List<Stmt> body, List<Stmt>? elseBody)
    : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        var source = iterable.Eval(context);
        if (source is null || !(source is string or List<object?> or object?[] or PyDict or Undefined))
            throw new JinjaRuntimeError($"'{PyOps.TypeName(source)}' object is not iterable");
        var items = PyOps.Iterate(source);
        var outer = context.Scope;
        if (filter is not null) items = Filtered(context, items, outer);
        if (items.Count == 0) return elseBody is null ? Flow.Normal : Stmt.Run(elseBody, context);
        var loop = new LoopInfo(items, 0);
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                context.CountIteration();
                loop.Index0 = i;
                context.Scope = new Scope(outer);
                target.Assign(context, items[i]);
                context.Scope.Set("loop", loop);
                if (Stmt.Run(body, context) == Flow.Break) break;
            }
        }
        finally
        {
            context.Scope = outer;
        }
        return Flow.Normal;
    }

    private List<object?> Filtered(RenderContext context, IReadOnlyList<object?> items, Scope outer)
    {
        var kept = new List<object?>();
        try
        {
            foreach (var item in items)
            {
                context.Scope = new Scope(outer);
                target.Assign(context, item);
                if (PyOps.Truthy(filter!.Eval(context))) kept.Add(item);
            }
        }
        finally
        {
            context.Scope = outer;
        }
        return kept;
    }
}

internal sealed class SetStmt(int line, int column, AssignTarget target, Expr value) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        target.Assign(context, value.Eval(context));
        return Flow.Normal;
    }
}

/// <summary>`{% set x %}...{% endset %}`: captures the rendered body as a string.</summary>
internal sealed class SetBlockStmt(int line, int column, AssignTarget target, List<FilterExpr> filters, List<Stmt> body) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        object? value = context.Capture(() => Stmt.Run(body, context));
        foreach (var filter in filters) value = filter.Apply(context, value);
        target.Assign(context, value);
        return Flow.Normal;
    }
}

internal sealed class LoopControlStmt(int line, int column, Flow flow) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context) => flow;
}

/// <summary>`{% with a = 1 %}...{% endwith %}`: a child scope for the body.</summary>
internal sealed class WithStmt(int line, int column, List<(AssignTarget Target, Expr Value)> assignments, List<Stmt> body) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        var outer = context.Scope;
        var values = assignments.Select(a => a.Value.Eval(context)).ToList();
        context.Scope = new Scope(outer);
        try
        {
            for (int i = 0; i < assignments.Count; i++) assignments[i].Target.Assign(context, values[i]);
            return Stmt.Run(body, context);
        }
        finally
        {
            context.Scope = outer;
        }
    }
}

/// <summary>`{% filter upper %}...{% endfilter %}` and transformers' `{% generation %}` (which renders its body as is).</summary>
internal sealed class FilterBlockStmt(int line, int column, List<FilterExpr> filters, List<Stmt> body) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        if (filters.Count == 0) return Stmt.Run(body, context);
        object? value = context.Capture(() => Stmt.Run(body, context));
        foreach (var filter in filters) value = filter.Apply(context, value);
        context.Write(PyFormat.Str(value));
        return Flow.Normal;
    }
}

internal sealed class MacroStmt(int line, int column, MacroDefinition definition) : Stmt(line, column)
{
    protected override Flow ExecuteCore(RenderContext context)
    {
        context.Scope.Set(definition.Name, new MacroValue(definition, context.Scope));
        return Flow.Normal;
    }
}
