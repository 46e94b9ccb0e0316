namespace Hearth.Tokenization.Templates;

internal enum TokenKind
{
    Data,
    VariableBegin,
    VariableEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof,
}

/// <summary>One lexed token; Offset is its index in the (newline-normalised) source.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Offset, object? Value = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;

    public bool IsOperator(string text) => Kind == TokenKind.Operator && Text == text;

    public bool IsName(string text) => Kind == TokenKind.Name && Text == text;
}
