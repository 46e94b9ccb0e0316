using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// An instantiated CUDA graph, in pieces launched in order: the kernels one captured call enqueued, with their
/// arguments (device pointers included) frozen, replayed by <see cref="CudaBackend.Replay"/>. Whoever captured
/// it keeps every buffer it reads and writes alive and at the same address while it is in use.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    private readonly CudaBackend _backend;
    private (nint Graph, nint Exec)[] _pieces;

    internal CudaGraph(CudaBackend backend, (nint Graph, nint Exec)[] pieces)
    {
        _backend = backend;
        _pieces = pieces;
    }

    /// <summary>How many graphs the capture was cut into.</summary>
    public int NumPieces => _pieces.Length;

    internal IEnumerable<nint> Execs
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pieces.Length == 0, this);
            return _pieces.Select(p => p.Exec);
        }
    }

    public void Dispose()
    {
        if (_pieces.Length == 0) return;
        if (!_backend.IsDisposed)
        {
            _backend.MakeCurrent();
            foreach (var (graph, exec) in _pieces)
            {
                CuDriver.cuGraphExecDestroy(exec);
                CuDriver.cuGraphDestroy(graph);
            }
        }
        _pieces = [];
    }
}
