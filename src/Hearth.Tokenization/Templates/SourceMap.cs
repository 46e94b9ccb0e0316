namespace Hearth.Tokenization.Templates;

/// <summary>Maps a source offset to a 1-based line and column for error messages.</summary>
internal sealed class SourceMap
{
    private readonly List<int> _lineStarts = new() { 0 };

    public SourceMap(string source)
    {
        for (int i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n') _lineStarts.Add(i + 1);
        }
    }

    public (int Line, int Column) Locate(int offset)
    {
        int index = _lineStarts.BinarySearch(offset);
        if (index < 0) index = ~index - 1;
        return (index + 1, offset - _lineStarts[index] + 1);
    }

    public TemplateException Error(int offset, string message)
    {
        var (line, column) = Locate(offset);
        return new TemplateException(message, line, column);
    }
}
