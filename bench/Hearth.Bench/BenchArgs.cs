using System.Globalization;

namespace Hearth.Bench;

/// <summary>Minimal `--name value` / `--flag` parsing for benchmarks.</summary>
public sealed class BenchArgs
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public static BenchArgs Parse(string[] args)
    {
        var parsed = new BenchArgs();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            parsed._values[args[i]] = hasValue ? args[++i] : null;
        }
        return parsed;
    }

    public string Require(string name) => _values.TryGetValue(name, out var v) && v is not null ? v : throw new ArgumentException($"{name} is required");

    public string? String(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback) => IntOrNull(name) ?? fallback;

    public int? IntOrNull(string name) => _values.TryGetValue(name, out var v) && v is not null ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    public bool Flag(string name) => _values.ContainsKey(name);
}
