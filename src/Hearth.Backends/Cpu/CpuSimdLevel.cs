namespace Hearth.Backends.Cpu;

/// <summary>The vector width the CPU kernels run at. Lower levels exist so every path can be tested on one machine.</summary>
public enum CpuSimdLevel
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}
