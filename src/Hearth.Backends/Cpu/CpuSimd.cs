using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>Picks the widest level the hardware accelerates.</summary>
public static class CpuSimd
{
    public static CpuSimdLevel Best =>
        Vector512.IsHardwareAccelerated ? CpuSimdLevel.Vector512
        : Vector256.IsHardwareAccelerated ? CpuSimdLevel.Vector256
        : Vector128.IsHardwareAccelerated ? CpuSimdLevel.Vector128
        : CpuSimdLevel.Scalar;
}
