using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// Page-locked host memory for a decode step's small inputs and its sampled ids. A copy from it is a plain DMA the stream runs in
/// order; from pageable memory the driver stages the bytes itself, and on the H100 the graph launch that followed
/// seven such copies took 0.5-0.8 ms of host time (5 µs without them), during which the GPU sat idle.
/// The caller rewrites a range only after the stream has passed its last copy (a decode step ends in a
/// synchronizing copy of its sampled ids). One owner: <see cref="Dispose"/> frees it.
/// </summary>
public sealed unsafe class PinnedHostBuffer : IDisposable
{
    private readonly CudaBackend _backend;
    private int* _pointer;

    internal PinnedHostBuffer(CudaBackend backend, int numInts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numInts);
        _backend = backend;
        void* pointer;
        backend.MakeCurrent();
        CuDriver.Check(CuDriver.cuMemHostAlloc(&pointer, (nuint)numInts * sizeof(int), 0), "cuMemHostAlloc");
        _pointer = (int*)pointer;
        NumInts = numInts;
    }

    public int NumInts { get; }

    /// <summary>The whole buffer, for the host to fill.</summary>
    public Span<int> Ints
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new Span<int>(_pointer, NumInts);
        }
    }

    /// <summary>Enqueues a copy of <paramref name="count"/> ints from <paramref name="offset"/> into the start of destination.</summary>
    public void CopyToDevice(int offset, int count, Tensor destination)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (offset < 0 || count < 0 || offset + count > NumInts) throw new ArgumentOutOfRangeException(nameof(count), $"ints {offset}..{offset + count} of {NumInts}");
        if ((long)count * sizeof(int) > destination.SizeBytes) throw new ArgumentException($"{count} ints do not fit {destination}");
        _backend.CopyPinnedToDevice(_pointer + offset, destination.Data, (long)count * sizeof(int));
    }

    /// <summary>Enqueues a copy of <paramref name="count"/> ints from the start of source into ints from <paramref name="offset"/>.</summary>
    public void CopyFromDevice(Tensor source, int offset, int count)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (offset < 0 || count < 0 || offset + count > NumInts) throw new ArgumentOutOfRangeException(nameof(count), $"ints {offset}..{offset + count} of {NumInts}");
        if ((long)count * sizeof(int) > source.SizeBytes) throw new ArgumentException($"{source} holds fewer than {count} ints");
        _backend.CopyDeviceToPinned(source.Data, _pointer + offset, (long)count * sizeof(int));
    }

    public void Dispose()
    {
        if (_pointer == null) return;
        if (!_backend.IsDisposed)
        {
            _backend.MakeCurrent();
            CuDriver.cuMemFreeHost(_pointer);
        }
        _pointer = null;
    }
}
