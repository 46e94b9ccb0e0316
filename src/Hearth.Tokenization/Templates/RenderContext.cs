using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>State of one render: the output, the scope chain and the limits that keep a hostile template bounded.</summary>
internal sealed class RenderContext
{
    /// <summary>Rendered text may not grow past this; chat prompts are far smaller.</summary>
    public const int MaxOutputChars = 64 * 1024 * 1024;

    /// <summary>Macro recursion bound; Python would stop near here with RecursionError.</summary>
    public const int MaxMacroDepth = 100;

    private readonly IReadOnlyDictionary<string, object?> _globals;

    public RenderContext(Scope root, IReadOnlyDictionary<string, object?> globals)
    {
        Scope = root;
        _globals = globals;
    }

    public StringBuilder Output { get; set; } = new();

    public Scope Scope { get; set; }

    public int MacroDepth { get; set; }

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
