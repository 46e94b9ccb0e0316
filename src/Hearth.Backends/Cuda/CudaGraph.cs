using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// An instantiated CUDA graph: the kernels one captured call enqueued, with their arguments (device pointers
/// included) frozen, replayed by <see cref="CudaBackend.Replay"/>. Whoever captured it keeps every buffer it
/// reads and writes alive and at the same address while it is in use.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    private readonly CudaBackend _backend;
    private nint _graph, _exec;

    internal CudaGraph(CudaBackend backend, nint graph, nint exec)
    {
        _backend = backend;
        _graph = graph;
        _exec = exec;
    }

    /// <summary>The nodes the graph holds (kernels, copies, memsets): what one replay launches.</summary>
    public unsafe int NumNodes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_exec == 0, this);
            nuint count = 0;
            CuDriver.Check(CuDriver.cuGraphGetNodes(_graph, null, &count), "cuGraphGetNodes");
            return (int)count;
        }
    }

    internal nint Exec
    {
        get
        {
            ObjectDisposedException.ThrowIf(_exec == 0, this);
            return _exec;
        }
    }

    public void Dispose()
    {
        if (_exec == 0) return;
        if (!_backend.IsDisposed)
        {
            _backend.MakeCurrent();
            CuDriver.cuGraphExecDestroy(_exec);
            CuDriver.cuGraphDestroy(_graph);
        }
        _exec = 0;
        _graph = 0;
    }
}
