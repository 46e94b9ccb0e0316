using System.Runtime.CompilerServices;

namespace Hearth.Backends;

/// <summary>A tensor shape of rank 0 to 4, stored inline so that views never allocate.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int _d0, _d1, _d2, _d3;

    public int Rank { get; }

    public Shape(int d0) : this(1, d0, 0, 0, 0) { }
    public Shape(int d0, int d1) : this(2, d0, d1, 0, 0) { }
    public Shape(int d0, int d1, int d2) : this(3, d0, d1, d2, 0) { }
    public Shape(int d0, int d1, int d2, int d3) : this(4, d0, d1, d2, d3) { }

    private Shape(int rank, int d0, int d1, int d2, int d3)
    {
        if (d0 < 0 || d1 < 0 || d2 < 0 || d3 < 0) throw new ArgumentOutOfRangeException(nameof(d0), "negative dimension");
        Rank = rank; _d0 = d0; _d1 = d1; _d2 = d2; _d3 = d3;
    }

    public static Shape FromSpan(ReadOnlySpan<long> dims) => dims.Length switch
    {
        0 => default,
        1 => new Shape(checked((int)dims[0])),
        2 => new Shape(checked((int)dims[0]), checked((int)dims[1])),
        3 => new Shape(checked((int)dims[0]), checked((int)dims[1]), checked((int)dims[2])),
        4 => new Shape(checked((int)dims[0]), checked((int)dims[1]), checked((int)dims[2]), checked((int)dims[3])),
        _ => throw new ArgumentException($"rank {dims.Length} is above 4"),
    };

    public int this[int axis]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)axis >= (uint)Rank) throw new ArgumentOutOfRangeException(nameof(axis));
            return axis switch { 0 => _d0, 1 => _d1, 2 => _d2, _ => _d3 };
        }
    }

    public long NumElements
    {
        get
        {
            long n = 1;
            for (int i = 0; i < Rank; i++) n *= this[i];
            return n;
        }
    }

    /// <summary>Elements in one index of the leading axis (the product of the other axes).</summary>
    public long RowElements => TrailingProduct();

    /// <summary>The same shape with the leading axis set to <paramref name="rows"/>.</summary>
    public Shape WithLeading(int rows) => new(Rank, rows, _d1, _d2, _d3);

    private long TrailingProduct()
    {
        long n = 1;
        for (int i = 1; i < Rank; i++) n *= this[i];
        return n;
    }

    public bool Equals(Shape other) =>
        Rank == other.Rank && _d0 == other._d0 && _d1 == other._d1 && _d2 == other._d2 && _d3 == other._d3;

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode() => HashCode.Combine(Rank, _d0, _d1, _d2, _d3);
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString()
    {
        var parts = new string[Rank];
        for (int i = 0; i < Rank; i++) parts[i] = this[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }
}
