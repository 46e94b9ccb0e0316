using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// Events mark a point in the stream the host can wait for without draining the whole stream.
internal static unsafe partial class CuDriver
{
    /// <summary>CU_EVENT_DISABLE_TIMING: the event only orders and signals.</summary>
    public const uint EventDisableTiming = 0x2;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventCreate(nint* ev, uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventRecord(nint ev, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventSynchronize(nint ev);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuEventDestroy_v2")]
    public static partial int cuEventDestroy(nint ev);
}
