using System.Globalization;
using System.Text;

namespace Hearth.Models.Synthetic;

/// <summary>
/// Writes JSON exactly as Python's json.dumps(obj, indent=2) does, for the value kinds a config.json uses,
/// so the text matches the goldens byte for byte.
/// </summary>
internal sealed class PythonJsonText
{
    private readonly StringBuilder _text = new();
    private readonly List<bool> _firstInScope = [];

    public void BeginObject(string? key = null) => Open(key, '{');

    public void EndObject() => Close('}');

    public void BeginArray(string? key = null) => Open(key, '[');

    public void EndArray() => Close(']');

    public void Item(string json) => Entry(null, json);

    public void String(string key, string value) => Entry(key, Quote(value));

    public void Int(string key, long value) => Entry(key, value.ToString(CultureInfo.InvariantCulture));

    public void Float(string key, double value) => Entry(key, FloatRepr(value));

    public void Bool(string key, bool value) => Entry(key, value ? "true" : "false");

    public void Null(string key) => Entry(key, "null");

    public override string ToString() => _text.ToString() + "\n";

    /// <summary>Python's repr(float): shortest round-trip digits, ".0" on integral values, "1e-06" style exponents.</summary>
    public static string FloatRepr(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), "JSON has no NaN or infinity");
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
        (string digits, int exponent) = ShortestDigits(Math.Abs(value));
        string sign = value < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
        }
        if (exponent < 0) return sign + "0." + new string('0', -exponent - 1) + digits;
        string whole = digits.Length > exponent + 1 ? digits[..(exponent + 1)] : digits.PadRight(exponent + 1, '0');
        string fraction = digits.Length > exponent + 1 ? digits[(exponent + 1)..] : "0";
        return sign + whole + "." + fraction;
    }

    /// <summary>Shortest round-trip significant digits d1d2... and E such that value = d1.d2... * 10^E.</summary>
    private static (string Digits, int Exponent) ShortestDigits(double positive)
    {
        string r = positive.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = e >= 0 ? r[..e] : r;
        int exponent = e >= 0 ? int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        int dot = mantissa.IndexOf('.');
        int integerDigits = dot >= 0 ? dot : mantissa.Length;
        string all = mantissa.Replace(".", "");
        int leadingZeros = all.Length - all.TrimStart('0').Length;
        string digits = all.TrimStart('0').TrimEnd('0');
        return (digits.Length == 0 ? "0" : digits, exponent + integerDigits - 1 - leadingZeros);
    }

    private static string Quote(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                default:
                    if (c < 0x20 || c > 0x7E) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private void Open(string? key, char bracket)
    {
        Entry(key, bracket.ToString());
        _firstInScope.Add(true);
    }

    private void Close(char bracket)
    {
        bool empty = _firstInScope[^1];
        _firstInScope.RemoveAt(_firstInScope.Count - 1);
        if (!empty) NewLine();
        _text.Append(bracket);
    }

    private void Entry(string? key, string json)
    {
        if (_firstInScope.Count > 0)
        {
            if (!_firstInScope[^1]) _text.Append(',');
            _firstInScope[^1] = false;
            NewLine();
        }
        if (key is not null) _text.Append(Quote(key)).Append(": ");
        _text.Append(json);
    }

    private void NewLine() => _text.Append('\n').Append(' ', 2 * _firstInScope.Count);
}
