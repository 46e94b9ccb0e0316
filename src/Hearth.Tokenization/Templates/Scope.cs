namespace Hearth.Tokenization.Templates;

/// <summary>
/// A frame of variables. Loop bodies and macros get child frames, so a `set` inside them does not leak out;
/// `if` blocks share their parent's frame, as in Jinja.
/// </summary>
internal sealed class Scope
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public Scope(Scope? parent) => Parent = parent;

    public Scope? Parent { get; }

    public void Set(string name, object? value) => _variables[name] = value;

    public bool TryLookup(string name, out object? value)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }
}
