namespace Hearth.Tokenization.Templates;

/// <summary>
/// Raised by value operations that do not know where in the template they run; the innermost node that
/// catches it stamps its own position before it becomes a <see cref="TemplateException"/>.
/// </summary>
internal sealed class JinjaRuntimeError : Exception
{
    public JinjaRuntimeError(string message) : base(message) { }

    public int Line { get; set; }

    public int Column { get; set; }

    public bool HasPosition => Line > 0;
}
