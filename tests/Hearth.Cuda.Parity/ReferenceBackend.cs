using Hearth.Backends;
using Hearth.Backends.Cpu;

namespace Hearth.Cuda.Parity;

/// <summary>The backend CUDA is compared against: the CPU backend, which computes in F32.</summary>
internal static class ReferenceBackend
{
    public static IBackend Create() => new CpuBackend();
}
