namespace Hearth.Tokenization.Constraints;

/// <summary>
/// Decides byte by byte whether text is still a prefix of one JSON object (RFC 8259 with an object at the top),
/// so generation can be restricted to tokens that keep the output valid. A value type small enough to copy at
/// every node of a token-trie walk: the container stack is a bit set (1 = object) of up to 64 levels.
/// A model held to JSON can otherwise pad or count forever, so the answer must start with '{', a run of
/// whitespace holds at most one line break and <see cref="MaxWhitespaceRun"/> bytes, and a number at most
/// <see cref="MaxDigits"/> digits in each of its parts.
/// </summary>
public struct JsonPrefixScanner
{
    public const int MaxDepth = 64;
    public const int MaxWhitespaceRun = 24;
    public const int MaxDigits = 24;

    private ulong _objectBits; // bit i set: the container at depth i is an object
    private byte _depth;
    private Mode _mode;
    private byte _aux; // literal: index into it; unicode escape: hex digits left; number: digits in this part
    private byte _lineBreaks; // in the current whitespace run
    private byte _whitespaceRun;
    private byte _literal; // 0 true, 1 false, 2 null
    private bool _lastWasCarriageReturn;

    private enum Mode : byte
    {
        Start, Value, ArrayFirst, ObjectFirst, Key, Colon, AfterValue,
        KeyString, ValueString, KeyEscape, ValueEscape, KeyUnicode, ValueUnicode,
        Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits, Literal, Done,
    }

    private static readonly byte[][] Literals = ["true"u8.ToArray(), "false"u8.ToArray(), "null"u8.ToArray()];

    /// <summary>The top-level object has been closed; nothing may follow.</summary>
    public readonly bool IsComplete => _mode == Mode.Done;

    /// <summary>A state key: equal keys accept exactly the same continuations.</summary>
    public readonly (ulong, ulong) Key => (_objectBits, (ulong)_depth | (ulong)_mode << 8 | (ulong)_aux << 16 | (ulong)_whitespaceRun << 24 | (ulong)_literal << 32 | (ulong)_lineBreaks << 40 | (_lastWasCarriageReturn ? 1UL : 0UL) << 48);

    /// <summary>Feeds a whole byte string; false (and an unspecified state) when it breaks the JSON.</summary>
    public bool Push(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (!Push(b)) return false;
        return true;
    }

    public bool Push(byte b)
    {
        if (IsWhitespace(b) && _mode is Mode.Value or Mode.ArrayFirst or Mode.ObjectFirst or Mode.Key or Mode.Colon or Mode.AfterValue)
            return Whitespace(b);
        _whitespaceRun = 0;
        _lineBreaks = 0;
        _lastWasCarriageReturn = false;
        switch (_mode)
        {
            case Mode.Start:
                return b == (byte)'{' && Open(isObject: true);
            case Mode.Value:
                return StartValue(b);
            case Mode.ArrayFirst:
                return b == (byte)']' ? Close(isObject: false) : StartValue(b);
            case Mode.ObjectFirst:
                if (b == (byte)'}') return Close(isObject: true);
                return b == (byte)'"' && Set(Mode.KeyString);
            case Mode.Key:
                return b == (byte)'"' && Set(Mode.KeyString);
            case Mode.Colon:
                return b == (byte)':' && Set(Mode.Value);
            case Mode.AfterValue:
                return AfterValue(b);
            case Mode.KeyString:
            case Mode.ValueString:
                return InString(b, _mode == Mode.KeyString);
            case Mode.KeyEscape:
            case Mode.ValueEscape:
                return Escape(b, _mode == Mode.KeyEscape);
            case Mode.KeyUnicode:
            case Mode.ValueUnicode:
                if (!IsHex(b)) return false;
                if (--_aux == 0) _mode = _mode == Mode.KeyUnicode ? Mode.KeyString : Mode.ValueString;
                return true;
            case Mode.Minus:
                if (b == (byte)'0') return Set(Mode.Zero);
                return IsDigit(b) && StartDigits(Mode.Int);
            case Mode.Zero:
                return NumberTail(b, allowDigits: false);
            case Mode.Int:
                return NumberTail(b, allowDigits: true);
            case Mode.Dot:
                return IsDigit(b) && StartDigits(Mode.Frac);
            case Mode.Frac:
                if (IsDigit(b)) return ++_aux <= MaxDigits;
                if (b is (byte)'e' or (byte)'E') return Set(Mode.Exp);
                return EndNumber(b);
            case Mode.Exp:
                if (b is (byte)'+' or (byte)'-') return Set(Mode.ExpSign);
                return IsDigit(b) && StartDigits(Mode.ExpDigits);
            case Mode.ExpSign:
                return IsDigit(b) && StartDigits(Mode.ExpDigits);
            case Mode.ExpDigits:
                if (IsDigit(b)) return ++_aux <= MaxDigits;
                return EndNumber(b);
            case Mode.Literal:
                var literal = Literals[_literal];
                if (b != literal[_aux]) return false;
                if (++_aux == literal.Length) _mode = Mode.AfterValue;
                return true;
            default:
                return false; // Done: the object is closed
        }
    }

    private bool Set(Mode mode)
    {
        _mode = mode;
        return true;
    }

    private bool StartValue(byte b)
    {
        switch (b)
        {
            case (byte)'{': return Open(isObject: true);
            case (byte)'[': return Open(isObject: false);
            case (byte)'"': return Set(Mode.ValueString);
            case (byte)'-': return Set(Mode.Minus);
            case (byte)'0': return Set(Mode.Zero);
            case (byte)'t': return StartLiteral(0);
            case (byte)'f': return StartLiteral(1);
            case (byte)'n': return StartLiteral(2);
            default: return IsDigit(b) && StartDigits(Mode.Int);
        }
    }

    private bool StartDigits(Mode mode)
    {
        _aux = 1;
        return Set(mode);
    }

    private bool Whitespace(byte b)
    {
        // "\r\n" is one line break: its '\n' completes the break its '\r' already counted.
        bool completesCrLf = b == (byte)'\n' && _lastWasCarriageReturn;
        if (b is (byte)'\n' or (byte)'\r' && !completesCrLf && ++_lineBreaks > 1) return false;
        _lastWasCarriageReturn = b == (byte)'\r';
        return ++_whitespaceRun <= MaxWhitespaceRun;
    }

    private bool StartLiteral(byte which)
    {
        _literal = which;
        _aux = 1;
        return Set(Mode.Literal);
    }

    private bool Open(bool isObject)
    {
        if (_depth == MaxDepth) return false;
        if (isObject) _objectBits |= 1UL << _depth;
        else _objectBits &= ~(1UL << _depth);
        _depth++;
        return Set(isObject ? Mode.ObjectFirst : Mode.ArrayFirst);
    }

    private bool Close(bool isObject)
    {
        if (_depth == 0 || TopIsObject != isObject) return false;
        _depth--;
        return Set(_depth == 0 ? Mode.Done : Mode.AfterValue);
    }

    private readonly bool TopIsObject => _depth > 0 && (_objectBits & (1UL << (_depth - 1))) != 0;

    private bool AfterValue(byte b)
    {
        if (b == (byte)',') return Set(TopIsObject ? Mode.Key : Mode.Value);
        if (b == (byte)'}') return Close(isObject: true);
        if (b == (byte)']') return Close(isObject: false);
        return false;
    }

    private bool InString(byte b, bool isKey)
    {
        if (b == (byte)'"') return Set(isKey ? Mode.Colon : Mode.AfterValue);
        if (b == (byte)'\\') return Set(isKey ? Mode.KeyEscape : Mode.ValueEscape);
        return b >= 0x20; // control characters must be escaped; UTF-8 bytes pass through
    }

    private bool Escape(byte b, bool isKey)
    {
        switch (b)
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                return Set(isKey ? Mode.KeyString : Mode.ValueString);
            case (byte)'u':
                _aux = 4;
                return Set(isKey ? Mode.KeyUnicode : Mode.ValueUnicode);
            default:
                return false;
        }
    }

    private bool NumberTail(byte b, bool allowDigits)
    {
        if (allowDigits && IsDigit(b)) return ++_aux <= MaxDigits;
        if (b == (byte)'.') return Set(Mode.Dot);
        if (b is (byte)'e' or (byte)'E') return Set(Mode.Exp);
        return EndNumber(b);
    }

    /// <summary>A number ends at the first byte that cannot continue it; that byte then follows the value.</summary>
    private bool EndNumber(byte b)
    {
        _mode = Mode.AfterValue;
        _aux = 0;
        if (IsWhitespace(b)) return Whitespace(b);
        return AfterValue(b);
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool IsHex(byte b) => IsDigit(b) || (uint)((b | 0x20) - 'a') <= 5;
}
