using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// A point in the backend's stream the host can wait for, so it can wait for one step while the GPU already runs
/// the next one. One owner: <see cref="Dispose"/> destroys it.
/// </summary>
public sealed unsafe class CudaEvent : IDisposable
{
    private readonly CudaBackend _backend;
    private nint _event;

    internal CudaEvent(CudaBackend backend)
    {
        _backend = backend;
        nint ev;
        backend.MakeCurrent();
        CuDriver.Check(CuDriver.cuEventCreate(&ev, CuDriver.EventDisableTiming), "cuEventCreate");
        _event = ev;
    }

    /// <summary>Whether <see cref="Record"/> was called since creation.</summary>
    public bool IsRecorded { get; private set; }

    /// <summary>Marks the current end of the stream: <see cref="Synchronize"/> returns once the work before it is done.</summary>
    public void Record()
    {
        ObjectDisposedException.ThrowIf(_event == 0, this);
        _backend.RecordEvent(_event);
        IsRecorded = true;
    }

    /// <summary>Blocks until the work before the last <see cref="Record"/> is done (at once when never recorded).</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_event == 0, this);
        if (!IsRecorded) return;
        _backend.MakeCurrent();
        CuDriver.Check(CuDriver.cuEventSynchronize(_event), "cuEventSynchronize");
    }

    public void Dispose()
    {
        if (_event == 0) return;
        if (!_backend.IsDisposed)
        {
            _backend.MakeCurrent();
            CuDriver.cuEventDestroy(_event);
        }
        _event = 0;
    }
}
