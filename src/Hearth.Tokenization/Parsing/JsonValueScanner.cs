namespace Hearth.Tokenization.Parsing;

/// <summary>
/// Validates one JSON value (RFC 8259) a character at a time without building it, so streamed tool-call arguments
/// can be forwarded as they arrive and stopped at the first character that breaks them.
/// </summary>
internal sealed class JsonValueScanner
{
    // Deeper nesting than any real arguments object; bounds the stack against runaway generations.
    private const int MaxDepth = 256;

    private enum State
    {
        Value, FirstKeyOrEnd, Key, Colon, FirstValueOrEnd, AfterValue,
        String, Escape, Hex,
        NumMinus, NumZero, NumInt, NumDot, NumFrac, NumExp, NumExpSign, NumExpDigits,
        Literal, Done,
    }

    private readonly Stack<bool> _containers = new(); // true = object, false = array
    private State _state;
    private bool _stringIsKey;
    private int _hexDigitsLeft;
    private string _literal = string.Empty;
    private int _literalMatchedChars;

    public void Reset()
    {
        _containers.Clear();
        _state = State.Value;
        _stringIsKey = false;
        _hexDigitsLeft = 0;
        _literalMatchedChars = 0;
    }

    public bool IsDone => _state == State.Done;

    /// <summary>True when <paramref name="text"/> is exactly one JSON object, with no surrounding whitespace.</summary>
    public static bool IsCompleteObject(string text)
    {
        if (text.Length == 0 || text[0] != '{') return false;
        var scanner = new JsonValueScanner();
        foreach (char c in text)
        {
            if (scanner.IsDone || scanner.Feed(c) == JsonStep.Error) return false;
        }
        return scanner.IsDone;
    }

    public JsonStep Feed(char c)
    {
        switch (_state)
        {
            case State.Value: return StartValue(c);
            case State.FirstKeyOrEnd:
                if (IsWhitespace(c)) return JsonStep.Continue;
                if (c == '}') return CloseContainer();
                return StartKey(c);
            case State.Key:
                return IsWhitespace(c) ? JsonStep.Continue : StartKey(c);
            case State.Colon:
                if (IsWhitespace(c)) return JsonStep.Continue;
                if (c != ':') return JsonStep.Error;
                _state = State.Value;
                return JsonStep.Continue;
            case State.FirstValueOrEnd:
                if (IsWhitespace(c)) return JsonStep.Continue;
                if (c == ']') return CloseContainer();
                return StartValue(c);
            case State.AfterValue: return AfterValue(c);
            case State.String:
                if (c == '"')
                {
                    if (!_stringIsKey) return EndValue();
                    _state = State.Colon;
                    return JsonStep.Continue;
                }
                if (c == '\\') _state = State.Escape;
                else if (c < ' ') return JsonStep.Error;
                return JsonStep.Continue;
            case State.Escape:
                if (c == 'u')
                {
                    _hexDigitsLeft = 4;
                    _state = State.Hex;
                    return JsonStep.Continue;
                }
                if (c is not ('"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')) return JsonStep.Error;
                _state = State.String;
                return JsonStep.Continue;
            case State.Hex:
                if (JsonStringDecoder.HexValue(c) < 0) return JsonStep.Error;
                if (--_hexDigitsLeft == 0) _state = State.String;
                return JsonStep.Continue;
            case State.Literal:
                if (c != _literal[_literalMatchedChars]) return JsonStep.Error;
                return ++_literalMatchedChars == _literal.Length ? EndValue() : JsonStep.Continue;
            case State.Done:
                return JsonStep.Error;
            default:
                return FeedNumber(c);
        }
    }

    private JsonStep StartValue(char c)
    {
        switch (c)
        {
            case ' ' or '\t' or '\n' or '\r': return JsonStep.Continue;
            case '{': return OpenContainer(isObject: true);
            case '[': return OpenContainer(isObject: false);
            case '"':
                _stringIsKey = false;
                _state = State.String;
                return JsonStep.Continue;
            case '-': _state = State.NumMinus; return JsonStep.Continue;
            case '0': _state = State.NumZero; return JsonStep.Continue;
            case >= '1' and <= '9': _state = State.NumInt; return JsonStep.Continue;
            case 't': return StartLiteral("true");
            case 'f': return StartLiteral("false");
            case 'n': return StartLiteral("null");
            default: return JsonStep.Error;
        }
    }

    private JsonStep StartKey(char c)
    {
        if (c != '"') return JsonStep.Error;
        _stringIsKey = true;
        _state = State.String;
        return JsonStep.Continue;
    }

    private JsonStep StartLiteral(string literal)
    {
        _literal = literal;
        _literalMatchedChars = 1;
        _state = State.Literal;
        return JsonStep.Continue;
    }

    private JsonStep OpenContainer(bool isObject)
    {
        if (_containers.Count >= MaxDepth) return JsonStep.Error;
        _containers.Push(isObject);
        _state = isObject ? State.FirstKeyOrEnd : State.FirstValueOrEnd;
        return JsonStep.Continue;
    }

    private JsonStep CloseContainer()
    {
        _containers.Pop();
        return EndValue();
    }

    private JsonStep EndValue()
    {
        if (_containers.Count == 0)
        {
            _state = State.Done;
            return JsonStep.Done;
        }
        _state = State.AfterValue;
        return JsonStep.Continue;
    }

    private JsonStep AfterValue(char c)
    {
        if (IsWhitespace(c)) return JsonStep.Continue;
        bool inObject = _containers.Peek();
        if (c == ',')
        {
            _state = inObject ? State.Key : State.Value;
            return JsonStep.Continue;
        }
        if ((c == '}' && inObject) || (c == ']' && !inObject)) return CloseContainer();
        return JsonStep.Error;
    }

    private JsonStep FeedNumber(char c)
    {
        bool isDigit = c is >= '0' and <= '9';
        switch (_state)
        {
            case State.NumMinus:
                if (c == '0') _state = State.NumZero;
                else if (isDigit) _state = State.NumInt;
                else return JsonStep.Error;
                return JsonStep.Continue;
            case State.NumInt when isDigit:
                return JsonStep.Continue;
            case State.NumZero or State.NumInt:
                if (c == '.') { _state = State.NumDot; return JsonStep.Continue; }
                if (c is 'e' or 'E') { _state = State.NumExp; return JsonStep.Continue; }
                return EndNumber(c);
            case State.NumDot:
                if (!isDigit) return JsonStep.Error;
                _state = State.NumFrac;
                return JsonStep.Continue;
            case State.NumFrac:
                if (isDigit) return JsonStep.Continue;
                if (c is 'e' or 'E') { _state = State.NumExp; return JsonStep.Continue; }
                return EndNumber(c);
            case State.NumExp:
                if (c is '+' or '-') { _state = State.NumExpSign; return JsonStep.Continue; }
                if (!isDigit) return JsonStep.Error;
                _state = State.NumExpDigits;
                return JsonStep.Continue;
            case State.NumExpSign:
                if (!isDigit) return JsonStep.Error;
                _state = State.NumExpDigits;
                return JsonStep.Continue;
            case State.NumExpDigits:
                return isDigit ? JsonStep.Continue : EndNumber(c);
            default:
                return JsonStep.Error;
        }
    }

    // A number only ends at the first character that cannot extend it; that character belongs to what follows.
    private JsonStep EndNumber(char c)
    {
        if (EndValue() == JsonStep.Done) return JsonStep.DoneBefore;
        return AfterValue(c);
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';
}
