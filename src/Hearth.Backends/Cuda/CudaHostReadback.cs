using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// Page-locked host slots that the stream copies small I32 results into (a step's picked token ids), each with an
/// event, so the host waits for one copy without synchronizing the stream: work enqueued after the copy (the next
/// decode step, run ahead) keeps the GPU busy while the host reads. A copy into pageable memory cannot do that: it
/// returns only once the copy is done, so nothing can be enqueued behind it. Created once; copying allocates nothing.
/// </summary>
public sealed unsafe class CudaHostReadback : IDisposable
{
    private readonly CudaBackend _backend;
    private readonly nint[] _events;   // [slots]
    private int* _host;                // [slots, capacity] page-locked

    internal CudaHostReadback(CudaBackend backend, int slots, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _backend = backend;
        NumSlots = slots;
        Capacity = capacity;
        _events = new nint[slots];
        backend.MakeCurrent();
        void* pinned;
        CuDriver.Check(CuDriver.cuMemHostAlloc(&pinned, (nuint)((long)slots * capacity * sizeof(int)), 0), "cuMemHostAlloc");
        _host = (int*)pinned;
        for (int i = 0; i < slots; i++)
        {
            nint e;
            CuDriver.Check(CuDriver.cuEventCreate(&e, CuDriver.EventDisableTiming), "cuEventCreate");
            _events[i] = e;
        }
    }

    public int NumSlots { get; }

    /// <summary>I32 values a slot holds.</summary>
    public int Capacity { get; }

    /// <summary>Enqueues the copy of the first <paramref name="count"/> values of <paramref name="source"/> (I32) into slot <paramref name="slot"/>.</summary>
    public void Enqueue(int slot, Tensor source, int count)
    {
        ObjectDisposedException.ThrowIf(_host == null, this);
        if (source.DType != DType.I32) throw new ArgumentException($"readback copies I32 values, not {source.DType}", nameof(source));
        if ((uint)slot >= (uint)NumSlots) throw new ArgumentOutOfRangeException(nameof(slot));
        if (count < 0 || count > Capacity || count > source.NumElements) throw new ArgumentOutOfRangeException(nameof(count));
        _backend.MakeCurrent();
        if (count > 0)
        {
            CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(_host + (long)slot * Capacity, source.Data, (nuint)(count * sizeof(int)), _backend.Stream),
                "cuMemcpyDtoHAsync_v2");
        }
        CuDriver.Check(CuDriver.cuEventRecord(_events[slot], _backend.Stream), "cuEventRecord");
    }

    /// <summary>Waits for the last copy enqueued into <paramref name="slot"/> and copies its values out.</summary>
    public void Wait(int slot, Span<int> destination)
    {
        ObjectDisposedException.ThrowIf(_host == null, this);
        if ((uint)slot >= (uint)NumSlots) throw new ArgumentOutOfRangeException(nameof(slot));
        if (destination.Length > Capacity) throw new ArgumentOutOfRangeException(nameof(destination));
        _backend.MakeCurrent();
        CuDriver.Check(CuDriver.cuEventSynchronize(_events[slot]), "cuEventSynchronize");
        new ReadOnlySpan<int>(_host + (long)slot * Capacity, destination.Length).CopyTo(destination);
    }

    public void Dispose()
    {
        if (_host == null) return;
        if (!_backend.IsDisposed)
        {
            _backend.MakeCurrent();
            // A copy may still be in flight into the page-locked memory.
            _backend.Synchronize();
            foreach (nint e in _events)
                if (e != 0) CuDriver.cuEventDestroy(e);
            CuDriver.cuMemFreeHost(_host);
        }
        Array.Clear(_events);
        _host = null;
    }
}
