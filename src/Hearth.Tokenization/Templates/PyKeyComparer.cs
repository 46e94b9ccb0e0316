namespace Hearth.Tokenization.Templates;

/// <summary>Hashing consistent with Python equality: equal numbers of different types hash alike.</summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => PyOps.Eq(x, y);

    public int GetHashCode(object obj)
    {
        switch (obj)
        {
            case string s: return string.GetHashCode(s, StringComparison.Ordinal);
            case bool b: return b ? 1 : 0;
            case Undefined: return 7;
            case long l: return l.GetHashCode();
            case double d:
                if (Math.Floor(d) == d && Math.Abs(d) < 9.2e18) return ((long)d).GetHashCode();
                return d.GetHashCode();
            case object?[] tuple:
                var hash = new HashCode();
                foreach (var item in tuple) hash.Add(item is null ? 0 : GetHashCode(item));
                return hash.ToHashCode();
            default: return System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
        }
    }

    public static void EnsureHashable(object? key)
    {
        if (key is List<object?> || key is PyDict)
            throw new JinjaRuntimeError($"unhashable type: '{PyOps.TypeName(key)}'");
        if (key is object?[] tuple)
        {
            foreach (var item in tuple) EnsureHashable(item);
        }
    }
}
