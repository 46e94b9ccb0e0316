using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Templates;

internal enum Flow
{
    Normal,
    Break,
    Continue,
}

/// <summary>A template statement (text, output, or a block tag). Errors raised directly in it carry its position.</summary>
internal abstract class Stmt
{
    protected Stmt(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    public Flow Execute(RenderContext context)
    {
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return ExecuteCore(context);
        }
        catch (JinjaRuntimeError e) when (!e.HasPosition)
        {
            e.Line = Line;
            e.Column = Column;
            throw;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new JinjaRuntimeError("template nested too deeply") { Line = Line, Column = Column };
        }
        catch (Exception e) when (Expr.IsValueError(e))
        {
            // A value of an unexpected shape must surface as a template error, never crash the server.
            throw new JinjaRuntimeError(e.Message) { Line = Line, Column = Column };
        }
    }

    protected abstract Flow ExecuteCore(RenderContext context);

    /// <summary>Runs statements in order until one breaks or continues a loop.</summary>
    public static Flow Run(List<Stmt> body, RenderContext context)
    {
        foreach (var stmt in body)
        {
            var flow = stmt.Execute(context);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }
}

/// <summary>
/// Where a set or for writes: a name, several names unpacked from a sequence, or `ns.attr` on a namespace.
/// </summary>
internal sealed class AssignTarget
{
    public AssignTarget(List<string> names, bool isTuple, string? attribute)
    {
        Names = names;
        IsTuple = isTuple;
        Attribute = attribute;
    }

    public List<string> Names { get; }

    public bool IsTuple { get; }

    public string? Attribute { get; }

    public void Assign(RenderContext context, object? value)
    {
        if (Attribute is not null)
        {
            var target = context.Lookup(Names[0]);
            if (target is not JinjaNamespace ns) throw new JinjaRuntimeError("cannot assign attribute on non-namespace object");
            ns.Attributes[Attribute] = value;
            return;
        }
        if (!IsTuple)
        {
            context.Scope.Set(Names[0], value);
            return;
        }
        var items = PyOps.Iterate(value);
        if (items.Count != Names.Count)
        {
            throw new JinjaRuntimeError(items.Count > Names.Count
                ? $"too many values to unpack (expected {Names.Count})"
                : $"not enough values to unpack (expected {Names.Count}, got {items.Count})");
        }
        for (int i = 0; i < Names.Count; i++) context.Scope.Set(Names[i], items[i]);
    }
}
