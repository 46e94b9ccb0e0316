using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// A fixed set of CUDA events recorded on the backend's stream, for timing stretches of the stream on the GPU's
/// clock (the host's clock sees when work was enqueued, not when it ran). Created once; recording allocates nothing.
/// </summary>
public sealed unsafe class CudaEventTimer : IDisposable
{
    private readonly CudaBackend _backend;
    private readonly nint[] _events;

    internal CudaEventTimer(CudaBackend backend, int count)
    {
        _backend = backend;
        _events = new nint[count];
        backend.MakeCurrent();
        for (int i = 0; i < count; i++)
        {
            nint e;
            CuDriver.Check(CuDriver.cuEventCreate(&e, 0), "cuEventCreate");
            _events[i] = e;
        }
    }

    public int Count => _events.Length;

    /// <summary>Records event <paramref name="index"/> at the current end of the stream.</summary>
    public void Record(int index) => CuDriver.Check(CuDriver.cuEventRecord(_events[index], _backend.Stream), "cuEventRecord");

    /// <summary>GPU milliseconds from event <paramref name="from"/> to <paramref name="to"/>; both must have completed.</summary>
    public double ElapsedMs(int from, int to)
    {
        float ms;
        CuDriver.Check(CuDriver.cuEventElapsedTime(&ms, _events[from], _events[to]), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        if (_backend.IsDisposed) return;
        _backend.MakeCurrent();
        foreach (nint e in _events)
            if (e != 0) CuDriver.cuEventDestroy(e);
        Array.Clear(_events);
    }
}
