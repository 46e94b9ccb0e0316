using Hearth.Backends;

namespace Hearth.Cuda.Parity;

/// <summary>The backend CUDA is compared against: the CPU backend (F32) by default, or the naive scalar one.</summary>
internal static class ReferenceBackend
{
    public static IBackend Create(string name) => name switch
    {
        "naive" => new NaiveReferenceBackend(),
        _ => throw new ArgumentException($"unknown reference backend {name}"),
    };
}
