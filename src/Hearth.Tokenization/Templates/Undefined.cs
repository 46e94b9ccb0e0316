namespace Hearth.Tokenization.Templates;

/// <summary>
/// Jinja's default Undefined: prints as "", is falsy, iterates as empty, but any attribute access, item access,
/// call or arithmetic on it fails with the hint recorded where it was produced.
/// </summary>
internal sealed class Undefined
{
    public Undefined(string hint) => Hint = hint;

    public string Hint { get; }

    public static Undefined Named(string name) => new($"'{name}' is undefined");

    public static Undefined Attribute(object? owner, string name) =>
        new($"'{PyOps.TypeName(owner)} object' has no attribute '{name}'");

    public JinjaRuntimeError Fail() => new(Hint);
}
