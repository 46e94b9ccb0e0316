using System.Text;

namespace Hearth.Tokenization.Parsing;

/// <summary>Decodes a JSON string literal one character at a time, starting after its opening quote.</summary>
internal sealed class JsonStringDecoder
{
    private readonly StringBuilder _decoded = new();
    private bool _afterBackslash;
    private int _hexDigitsLeft;
    private int _hexValue;

    public void Reset()
    {
        _decoded.Clear();
        _afterBackslash = false;
        _hexDigitsLeft = 0;
        _hexValue = 0;
    }

    public string Decoded => _decoded.ToString();

    public JsonStep Feed(char c)
    {
        if (_hexDigitsLeft > 0)
        {
            int digit = HexValue(c);
            if (digit < 0) return JsonStep.Error;
            _hexValue = (_hexValue << 4) | digit;
            // Surrogate halves are kept as UTF-16 code units, so an escaped pair decodes to the right character.
            if (--_hexDigitsLeft == 0) _decoded.Append((char)_hexValue);
            return JsonStep.Continue;
        }
        if (_afterBackslash)
        {
            _afterBackslash = false;
            switch (c)
            {
                case '"': _decoded.Append('"'); break;
                case '\\': _decoded.Append('\\'); break;
                case '/': _decoded.Append('/'); break;
                case 'b': _decoded.Append('\b'); break;
                case 'f': _decoded.Append('\f'); break;
                case 'n': _decoded.Append('\n'); break;
                case 'r': _decoded.Append('\r'); break;
                case 't': _decoded.Append('\t'); break;
                case 'u':
                    _hexDigitsLeft = 4;
                    _hexValue = 0;
                    break;
                default: return JsonStep.Error;
            }
            return JsonStep.Continue;
        }
        if (c == '"') return JsonStep.Done;
        if (c == '\\')
        {
            _afterBackslash = true;
            return JsonStep.Continue;
        }
        // JSON forbids raw control characters in strings; this also stops an unclosed string at the newline
        // that Qwen3 puts before </tool_call>.
        if (c < ' ') return JsonStep.Error;
        _decoded.Append(c);
        return JsonStep.Continue;
    }

    internal static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
