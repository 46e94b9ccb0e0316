using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// An expression node. Eval stamps this node's position on errors raised inside it, so the innermost failing
/// node names the line and column, and refuses to recurse past what the stack can hold.
/// </summary>
internal abstract class Expr
{
    protected Expr(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    public object? Eval(RenderContext context)
    {
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return EvalCore(context);
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
        catch (Exception e) when (IsValueError(e))
        {
            // A value of an unexpected shape must surface as a template error, never crash the server.
            throw new JinjaRuntimeError(e.Message) { Line = Line, Column = Column };
        }
    }

    protected abstract object? EvalCore(RenderContext context);

    internal static bool IsValueError(Exception e) =>
        e is InvalidCastException or ArgumentException or FormatException or OverflowException
            or InvalidOperationException or IndexOutOfRangeException or NullReferenceException;
}

/// <summary>A keyword argument `name=value` of a call, filter or test.</summary>
internal sealed record NamedArg(string Name, Expr Value);

/// <summary>The argument list of a call, filter or test, evaluated left to right.</summary>
internal sealed class ArgList
{
    public static readonly ArgList None = new(new List<Expr>(), new List<NamedArg>());

    public ArgList(List<Expr> positional, List<NamedArg> named)
    {
        Positional = positional;
        Named = named;
    }

    public List<Expr> Positional { get; }

    public List<NamedArg> Named { get; }

    public CallArgs Eval(RenderContext context)
    {
        if (Positional.Count == 0 && Named.Count == 0) return CallArgs.Empty;
        var positional = new List<object?>(Positional.Count);
        foreach (var p in Positional) positional.Add(p.Eval(context));
        var named = new List<KeyValuePair<string, object?>>(Named.Count);
        foreach (var n in Named) named.Add(new KeyValuePair<string, object?>(n.Name, n.Value.Eval(context)));
        return new CallArgs(positional, named);
    }
}
