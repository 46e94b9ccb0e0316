using Hearth.Core;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// A chat template could not be parsed or failed while rendering. Line and Column are 1-based positions in the
/// template source, so the author of the template can find the offending tag.
/// </summary>
public sealed class TemplateException : HearthException
{
    public TemplateException(string message, int line, int column)
        : base($"template error at line {line}, column {column}: {message}")
    {
        Line = line;
        Column = column;
        Reason = message;
    }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The message without the position, e.g. the text given to raise_exception.</summary>
    public string Reason { get; }
}
