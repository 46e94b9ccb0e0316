namespace Hearth.Backends.Cuda;

/// <summary>A g4 launch's i4 kernel and grid (blocks; each runs a contiguous range of the launch's units).</summary>
internal readonly record struct CudaQuantI4Launch(CudaQuantI4Kernel Kernel, int Blocks)
{
    /// <summary>Whether an i4 kernel takes the launch.</summary>
    public bool Taken => Kernel != CudaQuantI4Kernel.None;
}
