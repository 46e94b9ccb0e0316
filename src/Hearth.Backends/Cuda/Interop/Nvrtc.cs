using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

/// <summary>NVRTC, the runtime CUDA C++ compiler. Calls return nvrtcResult (0 = success).</summary>
internal static unsafe partial class Nvrtc
{
    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcVersion(int* major, int* minor);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcCreateProgram(nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLogSize(nint program, nuint* sizeBytes);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetCUBINSize(nint program, nuint* sizeBytes);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetCUBIN(nint program, byte* cubin);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcDestroyProgram(nint* program);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial byte* nvrtcGetErrorString(int result);

    public static void Check(int result, string call)
    {
        if (result != 0)
            throw new Core.HearthException($"{call} failed: {Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(result))} (nvrtcResult {result})");
    }
}
