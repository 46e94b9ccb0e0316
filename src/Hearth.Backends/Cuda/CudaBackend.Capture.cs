using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

// CUDA graph capture, in pieces. cuGraphLaunch costs host time that grows with the graph's nodes (a 14B decode
// step's ~400 kernels: 0.5-0.7 ms on the H100), and the GPU starts only when the launch call returns, so one
// graph leaves the GPU idle that long every step. Capture is cut into pieces: the first is a few kernels, so
// the GPU starts almost at once and runs while the host launches the rest.
public sealed unsafe partial class CudaBackend
{
    private bool _capturing;
    private int _launchesInPiece;
    private readonly List<(nint Graph, nint Exec)> _capturedPieces = [];

    /// <summary>Kernels in a captured graph's first piece (HEARTH_CUDA_GRAPH_PIECE=0: one piece, no cuts).</summary>
    public int GraphFirstPieceLaunches { get; set; } = ParsePieceLaunches(Environment.GetEnvironmentVariable("HEARTH_CUDA_GRAPH_PIECE"), 8);

    /// <summary>Kernels in each later piece: large enough that the host stays ahead of the GPU with few launches.</summary>
    public int GraphPieceLaunches { get; set; } = 64;

    internal static int ParsePieceLaunches(string? value, int fallback) =>
        int.TryParse(value, out int launches) && launches >= 0 ? launches : fallback;

    /// <summary>Starts recording this thread's ops on the backend's stream instead of running them.</summary>
    public void BeginCapture()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        FlushPending();
        _device.MakeCurrent();
        DisposePieces();
        BeginPiece();
        _capturing = true;
    }

    /// <summary>Ends the recording started by <see cref="BeginCapture"/> and instantiates it (in pieces, replayed in order).</summary>
    public CudaGraph EndCapture()
    {
        FlushPending();
        _device.MakeCurrent();
        _capturing = false;
        try
        {
            EndPiece();
        }
        catch
        {
            DisposePieces();
            throw;
        }
        var graph = new CudaGraph(this, [.. _capturedPieces]);
        _capturedPieces.Clear();
        return graph;
    }

    /// <summary>Enqueues a captured graph's pieces on the backend's stream.</summary>
    public void Replay(CudaGraph graph)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        FlushPending();
        _device.MakeCurrent();
        foreach (nint exec in graph.Execs) CuDriver.Check(CuDriver.cuGraphLaunch(exec, _device.Stream), "cuGraphLaunch");
    }

    /// <summary>After each kernel launch: while capturing, cuts a piece once it holds enough kernels.</summary>
    private void CountCapturedLaunch()
    {
        if (!_capturing || GraphFirstPieceLaunches == 0) return;
        _launchesInPiece++;
        int limit = _capturedPieces.Count == 0 ? GraphFirstPieceLaunches : Math.Max(GraphFirstPieceLaunches, GraphPieceLaunches);
        if (_launchesInPiece < limit) return;
        EndPiece();
        BeginPiece();
    }

    private void BeginPiece()
    {
        _launchesInPiece = 0;
        CuDriver.Check(CuDriver.cuStreamBeginCapture(_device.Stream, CuDriver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture_v2");
    }

    private void EndPiece()
    {
        nint graph, exec;
        CuDriver.Check(CuDriver.cuStreamEndCapture(_device.Stream, &graph), "cuStreamEndCapture");
        int result = CuDriver.cuGraphInstantiate(&exec, graph, 0);
        if (result != 0)
        {
            CuDriver.cuGraphDestroy(graph);
            CuDriver.Check(result, "cuGraphInstantiateWithFlags");
        }
        _capturedPieces.Add((graph, exec));
        // Uploading now keeps the one-time setup out of the first replay.
        CuDriver.Check(CuDriver.cuGraphUpload(exec, _device.Stream), "cuGraphUpload");
    }

    private void DisposePieces()
    {
        foreach (var (graph, exec) in _capturedPieces)
        {
            CuDriver.cuGraphExecDestroy(exec);
            CuDriver.cuGraphDestroy(graph);
        }
        _capturedPieces.Clear();
    }
}
