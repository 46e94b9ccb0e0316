using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// Stream capture and CUDA graphs, for replaying a decode step with one launch.
internal static unsafe partial class CuDriver
{
    /// <summary>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: unsafe calls (cuMemAlloc...) on the capturing thread fail the capture.</summary>
    public const int StreamCaptureModeThreadLocal = 1;

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuStreamBeginCapture_v2")]
    public static partial int cuStreamBeginCapture(nint stream, int mode);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamEndCapture(nint stream, nint* graph);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuGraphInstantiateWithFlags")]
    public static partial int cuGraphInstantiate(nint* graphExec, nint graph, ulong flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphLaunch(nint graphExec, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphGetNodes(nint graph, nint* nodes, nuint* numNodes);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphUpload(nint graphExec, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphExecDestroy(nint graphExec);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphDestroy(nint graph);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuFuncSetAttribute(nint function, int attribute, int value);
}
