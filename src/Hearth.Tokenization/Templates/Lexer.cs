using System.Globalization;
using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// Splits a template into data and tag tokens with the whitespace rules transformers uses for chat templates:
/// trim_blocks (drop the newline right after a block or comment tag), lstrip_blocks (drop spaces and tabs
/// between a line start and a block or comment tag), and the explicit `-` / `+` markers on tags.
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] TwoCharOperators = { "//", "**", "==", "!=", "<=", ">=" };
    private const string OneCharOperators = "+-/*%~[](){}<>=.:|,";

    private readonly string _src;
    private readonly SourceMap _map;
    private readonly List<Token> _tokens = new();
    private bool _previousStripsRight;
    private bool _previousTrimsNewline;

    private Lexer(string source, SourceMap map)
    {
        _src = source;
        _map = map;
    }

    public static List<Token> Tokenize(string source, SourceMap map)
    {
        var lexer = new Lexer(source, map);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        int pos = 0;
        while (true)
        {
            int tagStart = FindTagStart(pos);
            if (tagStart < 0)
            {
                EmitData(pos, _src.Length, '\0', '\0');
                break;
            }
            char kind = _src[tagStart + 1];
            char flag = tagStart + 2 < _src.Length && (_src[tagStart + 2] == '-' || _src[tagStart + 2] == '+') ? _src[tagStart + 2] : '\0';
            EmitData(pos, tagStart, kind, flag);
            int inner = tagStart + 2 + (flag == '\0' ? 0 : 1);
            pos = kind switch
            {
                '#' => LexComment(tagStart, inner),
                '{' => LexTag(TokenKind.VariableBegin, TokenKind.VariableEnd, '}', tagStart, inner),
                _ => LexTag(TokenKind.BlockBegin, TokenKind.BlockEnd, '%', tagStart, inner),
            };
            if (kind == '%') pos = MaybeLexRaw(pos);
        }
        _tokens.Add(new Token(TokenKind.Eof, "", _src.Length));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            char next = _src[i + 1];
            if (next == '{' || next == '%' || next == '#') return i;
        }
        return -1;
    }

    private void EmitData(int start, int end, char nextKind, char nextFlag)
    {
        int a = start, b = end;
        if (_previousStripsRight)
        {
            while (a < b && PyStrings.IsSpace(_src[a])) a++;
        }
        else if (_previousTrimsNewline && a < b && _src[a] == '\n')
        {
            a++;
        }
        if (nextFlag == '-')
        {
            while (b > a && PyStrings.IsSpace(_src[b - 1])) b--;
        }
        else if (nextFlag != '+' && (nextKind == '%' || nextKind == '#'))
        {
            int k = b;
            while (k > a && (_src[k - 1] == ' ' || _src[k - 1] == '\t')) k--;
            bool atLineStart = k > a ? _src[k - 1] == '\n' : a == 0 || _src[a - 1] == '\n';
            if (atLineStart) b = k;
        }
        if (b > a) _tokens.Add(new Token(TokenKind.Data, _src.Substring(a, b - a), a));
    }

    private void SetPreviousEnd(char kind, char flag)
    {
        _previousStripsRight = flag == '-';
        _previousTrimsNewline = flag != '+' && (kind == '%' || kind == '#');
    }

    private int LexComment(int tagStart, int inner)
    {
        int close = _src.IndexOf("#}", inner, StringComparison.Ordinal);
        if (close < 0) throw _map.Error(tagStart, "unexpected end of template, comment is not closed with '#}'");
        char flag = close > inner && (_src[close - 1] == '-' || _src[close - 1] == '+') ? _src[close - 1] : '\0';
        SetPreviousEnd('#', flag);
        return close + 2;
    }

    private int LexTag(TokenKind begin, TokenKind end, char endChar, int tagStart, int pos)
    {
        _tokens.Add(new Token(begin, _src.Substring(tagStart, pos - tagStart), tagStart));
        var brackets = new Stack<char>();
        while (true)
        {
            while (pos < _src.Length && PyStrings.IsSpace(_src[pos])) pos++;
            if (pos >= _src.Length)
            {
                string expected = endChar == '}' ? "}}" : "%}";
                throw _map.Error(tagStart, $"unexpected end of template, tag is not closed with '{expected}'");
            }
            if (brackets.Count == 0)
            {
                int closeAt = TryClose(pos, endChar, out char flag);
                if (closeAt >= 0)
                {
                    _tokens.Add(new Token(end, "", pos));
                    SetPreviousEnd(endChar, flag);
                    return closeAt;
                }
            }
            pos = LexToken(pos, brackets);
        }
    }

    /// <summary>Returns the offset after the closing `}}` / `%}` at pos (with an optional -/+ flag), or -1.</summary>
    private int TryClose(int pos, char endChar, out char flag)
    {
        flag = '\0';
        char c = _src[pos];
        if ((c == '-' || (c == '+' && endChar == '%')) && pos + 2 < _src.Length && _src[pos + 1] == endChar && _src[pos + 2] == '}')
        {
            flag = c;
            return pos + 3;
        }
        if (c == endChar && pos + 1 < _src.Length && _src[pos + 1] == '}') return pos + 2;
        return -1;
    }

    private int LexToken(int pos, Stack<char> brackets)
    {
        char c = _src[pos];
        if (char.IsLetter(c) || c == '_')
        {
            int start = pos;
            while (pos < _src.Length && (char.IsLetterOrDigit(_src[pos]) || _src[pos] == '_')) pos++;
            _tokens.Add(new Token(TokenKind.Name, _src.Substring(start, pos - start), start));
            return pos;
        }
        if (char.IsAsciiDigit(c)) return LexNumber(pos);
        if (c == '\'' || c == '"') return LexString(pos);
        foreach (var op in TwoCharOperators)
        {
            if (string.CompareOrdinal(_src, pos, op, 0, 2) == 0)
            {
                _tokens.Add(new Token(TokenKind.Operator, op, pos));
                return pos + 2;
            }
        }
        if (OneCharOperators.Contains(c))
        {
            TrackBracket(c, pos, brackets);
            _tokens.Add(new Token(TokenKind.Operator, c.ToString(), pos));
            return pos + 1;
        }
        throw _map.Error(pos, $"unexpected character '{c}'");
    }

    private void TrackBracket(char c, int pos, Stack<char> brackets)
    {
        switch (c)
        {
            case '(' or '[' or '{':
                brackets.Push(c);
                break;
            case ')' or ']' or '}':
                char open = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (brackets.Count == 0 || brackets.Pop() != open) throw _map.Error(pos, $"unexpected '{c}'");
                break;
        }
    }

    private int LexNumber(int pos)
    {
        int start = pos;
        pos = SkipDigits(pos);
        bool isFloat = false;
        if (pos + 1 < _src.Length && _src[pos] == '.' && char.IsAsciiDigit(_src[pos + 1]))
        {
            isFloat = true;
            pos = SkipDigits(pos + 1);
        }
        if (pos < _src.Length && (_src[pos] == 'e' || _src[pos] == 'E'))
        {
            int e = pos + 1;
            if (e < _src.Length && (_src[e] == '+' || _src[e] == '-')) e++;
            if (e < _src.Length && char.IsAsciiDigit(_src[e]))
            {
                isFloat = true;
                pos = SkipDigits(e);
            }
        }
        string text = _src.Substring(start, pos - start).Replace("_", "", StringComparison.Ordinal);
        if (isFloat)
        {
            _tokens.Add(new Token(TokenKind.Float, text, start, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }
        else
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw _map.Error(start, $"integer literal {text} is too large");
            _tokens.Add(new Token(TokenKind.Integer, text, start, value));
        }
        return pos;
    }

    private int SkipDigits(int pos)
    {
        while (pos < _src.Length && (char.IsAsciiDigit(_src[pos]) || (_src[pos] == '_' && pos + 1 < _src.Length && char.IsAsciiDigit(_src[pos + 1])))) pos++;
        return pos;
    }

    private int LexString(int start)
    {
        char quote = _src[start];
        var sb = new StringBuilder();
        int pos = start + 1;
        while (true)
        {
            if (pos >= _src.Length) throw _map.Error(start, "unterminated string literal");
            char c = _src[pos];
            if (c == quote) break;
            if (c == '\\' && pos + 1 < _src.Length)
            {
                pos = Unescape(pos + 1, sb);
                continue;
            }
            sb.Append(c);
            pos++;
        }
        _tokens.Add(new Token(TokenKind.String, _src.Substring(start, pos + 1 - start), start, sb.ToString()));
        return pos + 1;
    }

    /// <summary>Python's unicode-escape decoding; unknown escapes such as \d stay as written.</summary>
    private int Unescape(int pos, StringBuilder sb)
    {
        char e = _src[pos];
        switch (e)
        {
            case 'n': sb.Append('\n'); return pos + 1;
            case 't': sb.Append('\t'); return pos + 1;
            case 'r': sb.Append('\r'); return pos + 1;
            case '\\': sb.Append('\\'); return pos + 1;
            case '\'': sb.Append('\''); return pos + 1;
            case '"': sb.Append('"'); return pos + 1;
            case 'a': sb.Append('\a'); return pos + 1;
            case 'b': sb.Append('\b'); return pos + 1;
            case 'f': sb.Append('\f'); return pos + 1;
            case 'v': sb.Append('\v'); return pos + 1;
            case '\n': return pos + 1;
            case 'x': return AppendHex(pos + 1, 2, sb);
            case 'u': return AppendHex(pos + 1, 4, sb);
            case 'U': return AppendHex(pos + 1, 8, sb);
        }
        if (e >= '0' && e <= '7')
        {
            int value = 0, n = 0;
            while (n < 3 && pos < _src.Length && _src[pos] >= '0' && _src[pos] <= '7')
            {
                value = value * 8 + (_src[pos] - '0');
                pos++;
                n++;
            }
            sb.Append((char)value);
            return pos;
        }
        sb.Append('\\').Append(e);
        return pos + 1;
    }

    private int AppendHex(int pos, int digits, StringBuilder sb)
    {
        if (pos + digits > _src.Length
            || !int.TryParse(_src.AsSpan(pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value)
            || value > 0x10FFFF)
            throw _map.Error(pos - 2, "truncated \\xXX, \\uXXXX or \\UXXXXXXXX escape in string literal");
        sb.Append(char.ConvertFromUtf32(value >= 0xD800 && value <= 0xDFFF ? 0xFFFD : value));
        return pos + digits;
    }

    /// <summary>`{% raw %}...{% endraw %}`: the text in between is emitted verbatim.</summary>
    private int MaybeLexRaw(int pos)
    {
        int n = _tokens.Count;
        if (n < 3 || _tokens[n - 3].Kind != TokenKind.BlockBegin || !_tokens[n - 2].IsName("raw") || _tokens[n - 1].Kind != TokenKind.BlockEnd)
            return pos;
        int rawTagStart = _tokens[n - 3].Offset;
        _tokens.RemoveRange(n - 3, 3);
        bool stripStart = _previousStripsRight;
        int search = pos;
        while (true)
        {
            int open = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (open < 0) throw _map.Error(rawTagStart, "missing endraw for raw block");
            int p = open + 2;
            char flag = p < _src.Length && (_src[p] == '-' || _src[p] == '+') ? _src[p++] : '\0';
            while (p < _src.Length && PyStrings.IsSpace(_src[p])) p++;
            if (string.CompareOrdinal(_src, p, "endraw", 0, 6) != 0)
            {
                search = open + 2;
                continue;
            }
            p += 6;
            while (p < _src.Length && PyStrings.IsSpace(_src[p])) p++;
            char endFlag = '\0';
            int close = p < _src.Length ? TryClose(p, '%', out endFlag) : -1;
            if (close < 0) throw _map.Error(open, "expected '%}' after endraw");
            int a = pos, b = open;
            if (stripStart) while (a < b && PyStrings.IsSpace(_src[a])) a++;
            if (flag == '-') while (b > a && PyStrings.IsSpace(_src[b - 1])) b--;
            if (b > a) _tokens.Add(new Token(TokenKind.Data, _src.Substring(a, b - a), a));
            SetPreviousEnd('%', endFlag);
            return close;
        }
    }
}
