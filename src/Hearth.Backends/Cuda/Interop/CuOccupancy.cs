using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

/// <summary>Occupancy and function-attribute calls for the quantized GEMM (CudaBackend.QuantGemm.cs) and the clustered decode attention.</summary>
internal static unsafe partial class CuDriver
{
    /// <summary>CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.</summary>
    public const int FuncAttributeMaxDynamicSharedBytes = 8;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuOccupancyMaxActiveBlocksPerMultiprocessor(int* numBlocks, nint function, int blockSize, nuint dynamicSharedBytes);

    /// <summary>The most clusters of a launch configuration (its cluster-dimension attribute) that can be resident at once (sm_90+).</summary>
    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuOccupancyMaxActiveClusters(int* numClusters, nint function, LaunchConfig* config);
}
