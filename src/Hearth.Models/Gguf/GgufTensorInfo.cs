using Hearth.Backends;
using Hearth.Backends.Gguf;

namespace Hearth.Models.Gguf;

/// <summary>
/// One tensor of a GGUF file. <see cref="Dimensions"/> are in ggml order, innermost first (a [out, in] matrix is
/// {in, out}); <see cref="Shape"/> is the row-major shape Hearth uses. OffsetBytes counts from the data section.
/// </summary>
public sealed record GgufTensorInfo(string Name, GgufTensorType Type, long[] Dimensions, long OffsetBytes)
{
    public long NumElements => Dimensions.Aggregate(1L, (a, b) => a * b);

    /// <summary>Elements of the innermost axis: a matrix's input features.</summary>
    public long RowElements => Dimensions.Length == 0 ? 1 : Dimensions[0];

    public long NumRows => RowElements == 0 ? 0 : NumElements / RowElements;

    public long SizeBytes => GgufBlockLayout.RowSizeBytes(Type, RowElements) * NumRows;

    public Shape Shape
    {
        get
        {
            Span<long> reversed = stackalloc long[Dimensions.Length];
            for (int i = 0; i < Dimensions.Length; i++) reversed[i] = Dimensions[Dimensions.Length - 1 - i];
            return Shape.FromSpan(reversed);
        }
    }
}
