using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// Page-locked host memory the GPU reads directly (unified addressing): host-resident embedding tables.
internal static unsafe partial class CuDriver
{
    public const uint MemHostAllocPortable = 0x01;
    public const uint MemHostAllocDeviceMap = 0x02;

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemHostAlloc")]
    public static partial int cuMemHostAlloc(void** pointer, nuint sizeBytes, uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuMemFreeHost(void* pointer);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemHostGetDevicePointer_v2")]
    public static partial int cuMemHostGetDevicePointer(nint* devicePointer, void* hostPointer, uint flags);
}
