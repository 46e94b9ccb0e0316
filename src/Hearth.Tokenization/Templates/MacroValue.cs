namespace Hearth.Tokenization.Templates;

/// <summary>A parsed `{% macro name(a, b=default) %}` body.</summary>
internal sealed record MacroDefinition(string Name, List<string> Parameters, List<Expr?> Defaults, List<Stmt> Body);

/// <summary>A macro bound to the scope it was defined in; calling it renders the body to a string.</summary>
internal sealed class MacroValue(MacroDefinition definition, Scope closure) : PyCallable
{
    public override string Name => definition.Name;

    public override object? Invoke(RenderContext context, CallArgs args)
    {
        args.Check(definition.Name, definition.Parameters.ToArray());
        if (context.MacroDepth >= RenderContext.MaxMacroDepth) throw new JinjaRuntimeError("maximum macro recursion depth exceeded");
        var saved = context.Scope;
        var scope = new Scope(closure);
        context.Scope = scope;
        context.MacroDepth++;
        try
        {
            for (int i = 0; i < definition.Parameters.Count; i++)
            {
                string name = definition.Parameters[i];
                object? value = args.Has(i, name)
                    ? args.Get(i, name, null)
                    : definition.Defaults[i] is { } fallback ? fallback.Eval(context) : Undefined.Named(name);
                scope.Set(name, value);
            }
            return context.Capture(() => Stmt.Run(definition.Body, context));
        }
        finally
        {
            context.Scope = saved;
            context.MacroDepth--;
        }
    }
}
