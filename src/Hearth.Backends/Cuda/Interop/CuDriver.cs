using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

/// <summary>The CUDA driver API calls the backend needs. Every call returns a CUresult (0 = success).</summary>
internal static unsafe partial class CuDriver
{
    public const int AttributeMultiprocessorCount = 16;
    public const int AttributeComputeCapabilityMajor = 75;
    public const int AttributeComputeCapabilityMinor = 76;
    public const uint StreamNonBlocking = 1;
    public const int ErrorNoDevice = 100;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuInit(uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDriverGetVersion(int* version);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetCount(int* count);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGet(int* device, int ordinal);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial int cuDevicePrimaryCtxRelease(int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemAlloc_v2")]
    public static partial int cuMemAlloc(nint* pointer, nuint sizeBytes);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemFree_v2")]
    public static partial int cuMemFree(nint pointer);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemGetInfo_v2")]
    public static partial int cuMemGetInfo(nuint* freeBytes, nuint* totalBytes);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuMemsetD8Async(nint pointer, byte value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial int cuMemcpyHtoDAsync(nint destination, void* source, nuint sizeBytes, nint stream);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial int cuMemcpyDtoHAsync(void* destination, nint source, nuint sizeBytes, nint stream);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    public static partial int cuMemcpyDtoDAsync(nint destination, nint source, nuint sizeBytes, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamCreate(nint* stream, uint flags);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuStreamDestroy_v2")]
    public static partial int cuStreamDestroy(nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleLoadData(nint* module, void* image);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleUnload(nint module);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ, uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGetErrorName(int error, byte** name);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGetErrorString(int error, byte** text);

    /// <summary>Throws a one-line HearthException naming the call and the error, e.g. "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".</summary>
    public static void Check(int result, string call)
    {
        if (result != 0) throw new Core.HearthException(Describe(result, call));
    }

    public static string Describe(int result, string call)
    {
        byte* name = null, text = null;
        string nameText = cuGetErrorName(result, &name) == 0 && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? "" : $"CUresult {result}";
        string description = cuGetErrorString(result, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "unknown error";
        return $"{call} failed: {nameText} ({description})";
    }
}
