using Hearth.Core;

namespace Hearth.Server.Hosting;

/// <summary>
/// Picks the backend for --device. There is no CUDA backend yet, so "cuda" fails at once with the reason and
/// "auto" (which would prefer CUDA when a GPU is present) takes the CPU.
/// </summary>
public static class DeviceSelector
{
    public const string Cpu = "cpu";

    public static string Resolve(string device) => device.Trim().ToLowerInvariant() switch
    {
        "auto" or "cpu" => Cpu,
        "cuda" => throw new HearthException("--device cuda is not available: this build of Hearth has no CUDA backend yet; use --device cpu or auto"),
        _ => throw new HearthException($"--device must be auto, cpu or cuda, got '{device}'"),
    };
}
