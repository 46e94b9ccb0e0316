using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// Whether the stream is being captured: the GEMM autotuner times candidates only outside a capture.
internal static unsafe partial class CuDriver
{
    /// <summary>CU_STREAM_CAPTURE_STATUS_NONE.</summary>
    public const int StreamCaptureStatusNone = 0;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamIsCapturing(nint stream, int* captureStatus);
}
