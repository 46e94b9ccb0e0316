using System.Text;

namespace Hearth.Engine.Core;

/// <summary>
/// Finds stop strings in streamed text. Text that could still be the start of a stop string is held
/// back, so a stop string is never emitted, not even in part.
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private readonly StringBuilder _pending = new();

    public StopStringMatcher(IReadOnlyList<string> stops) => _stops = stops.Where(s => s.Length > 0).ToArray();

    /// <summary>Adds text; returns what may be emitted now, and the stop string if one matched (then stop).</summary>
    public (string Emit, string? Stop) Push(string text)
    {
        if (_stops.Count == 0) return (text, null);
        _pending.Append(text);
        string pending = _pending.ToString();
        int matchAt = -1;
        string? matched = null;
        foreach (var stop in _stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (matchAt < 0 || at < matchAt))
            {
                matchAt = at;
                matched = stop;
            }
        }
        if (matched is not null)
        {
            _pending.Clear();
            return (pending[..matchAt], matched);
        }
        int hold = 0;
        foreach (var stop in _stops) hold = Math.Max(hold, LongestSuffixThatStarts(pending, stop));
        _pending.Clear();
        _pending.Append(pending, pending.Length - hold, hold);
        return (pending[..^hold], null);
    }

    /// <summary>Whatever was held back, at the end of generation.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    private static int LongestSuffixThatStarts(string text, string stop)
    {
        for (int length = Math.Min(stop.Length - 1, text.Length); length > 0; length--)
            if (string.CompareOrdinal(text, text.Length - length, stop, 0, length) == 0) return length;
        return 0;
    }
}
