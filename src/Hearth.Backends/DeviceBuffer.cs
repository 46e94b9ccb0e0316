using Hearth.Core;

namespace Hearth.Backends;

/// <summary>
/// The single owner of a block of backend memory. Disposing it frees the memory; there is no finalizer,
/// so whoever allocates a buffer must dispose it.
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    public abstract nint Data { get; }

    public abstract long SizeBytes { get; }

    /// <summary>A view of the start of the buffer as a tensor of the given dtype and shape.</summary>
    public Tensor AsTensor(DType dtype, Shape shape)
    {
        long needed = shape.NumElements * dtype.ElementSizeBytes();
        if (needed > SizeBytes) throw new ArgumentException($"{dtype}{shape} needs {needed} bytes, buffer has {SizeBytes}");
        return new Tensor(Data, dtype, shape);
    }

    public abstract void Dispose();
}
