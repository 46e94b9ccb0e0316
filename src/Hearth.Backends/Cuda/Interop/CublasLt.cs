using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

/// <summary>cuBLASLt calls and the enum values of cublasLt.h the backend uses. Calls return cublasStatus_t (0 = success).</summary>
internal static unsafe partial class CublasLt
{
    public const int CudaR32F = 0;
    public const int CudaR16F = 2;
    public const int CudaR16BF = 14;
    public const int ComputeType32F = 68;
    public const int OpN = 0;
    public const int OpT = 1;
    public const int DescComputeType = 0;
    public const int DescScaleType = 1;
    public const int DescTransA = 3;
    public const int DescTransB = 4;
    public const int PrefMaxWorkspaceBytes = 1;
    public const int PrefMinAlignmentA = 5;
    public const int PrefMinAlignmentB = 6;
    public const int PrefMinAlignmentC = 7;
    public const int PrefMinAlignmentD = 8;

    /// <summary>cublasLtMatmulHeuristicResult_t: a 64-byte algo, then workspaceSize, state, wavesCount, reserved[4].</summary>
    [StructLayout(LayoutKind.Sequential, Size = 96)]
    public struct HeuristicResult
    {
        public fixed ulong Algo[8];
        public nuint WorkspaceSizeBytes;
        public int State;
        public float WavesCount;
        public fixed int Reserved[4];
    }

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtCreate(nint* handle);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtDestroy(nint handle);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial nuint cublasLtGetVersion();

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescCreate(nint* desc, int computeType, int scaleType);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescDestroy(nint desc);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescSetAttribute(nint desc, int attribute, void* value, nuint sizeBytes);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatrixLayoutCreate(nint* layout, int dataType, ulong rows, ulong cols, long leadingDimension);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatrixLayoutDestroy(nint layout);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceCreate(nint* preference);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceDestroy(nint preference);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceSetAttribute(nint preference, int attribute, void* value, nuint sizeBytes);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulAlgoGetHeuristic(nint handle, nint desc, nint aLayout, nint bLayout, nint cLayout,
        nint dLayout, nint preference, int requestedAlgoCount, HeuristicResult* results, int* returnedAlgoCount);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmul(nint handle, nint desc, void* alpha, nint a, nint aLayout, nint b, nint bLayout,
        void* beta, nint c, nint cLayout, nint d, nint dLayout, void* algo, nint workspace, nuint workspaceSizeBytes, nint stream);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial byte* cublasLtGetStatusName(int status);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial byte* cublasLtGetStatusString(int status);

    public static void Check(int status, string call)
    {
        if (status == 0) return;
        string name = Marshal.PtrToStringUTF8((nint)cublasLtGetStatusName(status)) ?? $"cublasStatus {status}";
        string text = Marshal.PtrToStringUTF8((nint)cublasLtGetStatusString(status)) ?? "unknown error";
        throw new Core.HearthException($"{call} failed: {name} ({text})");
    }
}
