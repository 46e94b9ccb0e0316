using Hearth.Core;

namespace Hearth.Backends;

/// <summary>
/// A non-owning, row-major, contiguous view of device memory (host memory on the CPU backend).
/// Views are structs so that slicing in the decode loop never allocates; the memory itself is owned
/// by a <see cref="DeviceBuffer"/> or by a memory-mapped checkpoint.
/// </summary>
public readonly struct Tensor
{
    /// <summary>Address of the first element in the backend's address space.</summary>
    public nint Data { get; }

    public DType DType { get; }

    public Shape Shape { get; }

    public Tensor(nint data, DType dtype, Shape shape)
    {
        Data = data;
        DType = dtype;
        Shape = shape;
    }

    public bool IsEmpty => Data == 0;

    public long NumElements => Shape.NumElements;

    public long SizeBytes => Shape.NumElements * DType.ElementSizeBytes();

    public int Rows => Shape[0];

    /// <summary>A view of <paramref name="count"/> rows of the leading axis starting at <paramref name="start"/>.</summary>
    public Tensor SliceRows(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{start + count} outside {Shape}");
        long rowBytes = Shape.RowElements * DType.ElementSizeBytes();
        return new Tensor(Data + (nint)(start * rowBytes), DType, Shape.WithLeading(count));
    }

    /// <summary>The same memory under another shape with the same number of elements.</summary>
    public Tensor Reshape(Shape shape)
    {
        if (shape.NumElements != Shape.NumElements)
            throw new ArgumentException($"cannot view {Shape} as {shape}");
        return new Tensor(Data, DType, shape);
    }

    public override string ToString() => $"Tensor({DType}, {Shape})";
}
