using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>State of one render: the output, the scope chain and the limits that keep a hostile template bounded.</summary>
internal sealed class RenderContext
{
    /// <summary>Rendered text may not grow past this; chat prompts are far smaller.</summary>
    public const int MaxOutputChars = 64 * 1024 * 1024;

    /// <summary>Macro recursion bound; Python would stop near here with RecursionError.</summary>
    public const int MaxMacroDepth = 100;

    /// <summary>
    /// Total loop iterations one render may run. Every loop is finite, but nested range(100000) loops would
    /// still hold a server thread for hours; no real chat template comes near this.
    /// </summary>
    public const long MaxLoopIterations = 10_000_000;

    private readonly IReadOnlyDictionary<string, object?> _globals;
    private long _loopIterations;

    public RenderContext(Scope root, IReadOnlyDictionary<string, object?> globals)
    {
        Scope = root;
        _globals = globals;
    }

    public StringBuilder Output { get; set; } = new();

    public Scope Scope { get; set; }

    public int MacroDepth { get; set; }

    public void CountIteration()
    {
        if (++_loopIterations > MaxLoopIterations)
            throw new JinjaRuntimeError($"template ran more than {MaxLoopIterations} loop iterations");
    }

    public object? Lookup(string name)
    {
        if (Scope.TryLookup(name, out var value)) return value;
        return _globals.TryGetValue(name, out var global) ? global : Undefined.Named(name);
    }

    public void Write(string text)
    {
        if (Output.Length + (long)text.Length > MaxOutputChars) throw new JinjaRuntimeError("rendered output is too large");
        Output.Append(text);
    }

    /// <summary>Runs body with output redirected into a fresh buffer and returns what it wrote.</summary>
    public string Capture(Action body)
    {
        var saved = Output;
        Output = new StringBuilder();
        try
        {
            body();
            return Output.ToString();
        }
        finally
        {
            Output = saved;
        }
    }
}
