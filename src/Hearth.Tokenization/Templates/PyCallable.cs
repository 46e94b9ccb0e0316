namespace Hearth.Tokenization.Templates;

/// <summary>Anything a template can call: global functions, bound methods, macros.</summary>
internal abstract class PyCallable
{
    public abstract string Name { get; }

    public abstract object? Invoke(RenderContext context, CallArgs args);
}

/// <summary>A global such as range or namespace.</summary>
internal sealed class BuiltinFunction : PyCallable
{
    private readonly Func<RenderContext, CallArgs, object?> _body;

    public BuiltinFunction(string name, Func<RenderContext, CallArgs, object?> body)
    {
        Name = name;
        _body = body;
    }

    public override string Name { get; }

    public override object? Invoke(RenderContext context, CallArgs args) => _body(context, args);
}

/// <summary>A method looked up on a value (`s.strip`), called later with its arguments.</summary>
internal sealed class BoundMethod : PyCallable
{
    public BoundMethod(object target, string name)
    {
        Target = target;
        Name = name;
    }

    public object Target { get; }

    public override string Name { get; }

    public override object? Invoke(RenderContext context, CallArgs args) => Methods.Invoke(Target, Name, args);
}
