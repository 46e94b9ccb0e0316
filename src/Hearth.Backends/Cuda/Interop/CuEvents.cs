using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// Events recorded on the stream: the GPU's own clock for where a step's time goes (CudaEventTimer), and the point a
// host waits for without waiting for the work enqueued after it (CudaHostReadback).
internal static unsafe partial class CuDriver
{
    public const uint EventDisableTiming = 0x2;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventCreate(nint* cuEvent, uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventRecord(nint cuEvent, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventSynchronize(nint cuEvent);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuEventDestroy_v2")]
    public static partial int cuEventDestroy(nint cuEvent);
}
