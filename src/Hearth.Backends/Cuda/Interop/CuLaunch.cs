using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

// cuLaunchKernelEx (CUDA 12.0+) with launch attributes, for programmatic dependent launch and thread-block clusters on sm_90+.
// Layouts as in cuda.h of CUDA 12 and 13 (checked by tools/gpu/pdl_run.sh against the device's header).
internal static unsafe partial class CuDriver
{
    /// <summary>CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.</summary>
    public const int LaunchAttributeProgrammaticStreamSerialization = 6;

    /// <summary>CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION: the value is three 32-bit cluster extents (x, y, z).</summary>
    public const int LaunchAttributeClusterDimension = 4;

    /// <summary>CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE: 0 default, 1 spread, 2 load balancing.</summary>
    public const int LaunchAttributeClusterSchedulingPolicy = 5;

    /// <summary>CUlaunchConfig: 56 bytes (the stream pointer is 8-aligned after seven 32-bit fields).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LaunchConfig
    {
        public uint GridDimX, GridDimY, GridDimZ;
        public uint BlockDimX, BlockDimY, BlockDimZ;
        public uint SharedMemBytes;
        public nint Stream;
        public LaunchAttribute* Attributes;
        public uint NumAttributes;
    }

    /// <summary>CUlaunchAttribute: a 32-bit id padded to 8 bytes, then the 64-byte CUlaunchAttributeValue union.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 72)]
    public struct LaunchAttribute
    {
        [FieldOffset(0)] public int Id;
        /// <summary>The union's first 32 bits: programmaticStreamSerializationAllowed for id 6.</summary>
        [FieldOffset(8)] public int ValueInt;
        /// <summary>clusterDim.y and .z for id 4 (ValueInt is .x).</summary>
        [FieldOffset(12)] public int ValueY;
        [FieldOffset(16)] public int ValueZ;
    }

    /// <summary>A cluster-dimension attribute of <paramref name="clusterZ"/> blocks along z (1 along x and y).</summary>
    public static LaunchAttribute ClusterDimension(int clusterZ)
    {
        var attribute = default(LaunchAttribute);
        attribute.Id = LaunchAttributeClusterDimension;
        attribute.ValueInt = 1;
        attribute.ValueY = 1;
        attribute.ValueZ = clusterZ;
        return attribute;
    }

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuLaunchKernelEx(LaunchConfig* config, nint function, void** kernelParams, void** extra);
}
