using System.Globalization;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>The environment switches of the L2 prefetch (CudaBackend.L2Prefetch.cs), parsed with one-line errors.</summary>
public static class L2PrefetchOptions
{
    /// <summary>HEARTH_CUDA_L2_PREFETCH: unset for <paramref name="defaultSites"/>, else a mask 0-7 of <see cref="L2PrefetchSites"/> (0 = off).</summary>
    public static L2PrefetchSites ParseSites(string? value, L2PrefetchSites defaultSites)
    {
        if (string.IsNullOrWhiteSpace(value)) return defaultSites;
        const int all = (int)(L2PrefetchSites.Attention | L2PrefetchSites.Norms | L2PrefetchSites.Rope);
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int mask) && mask <= all) return (L2PrefetchSites)mask;
        throw new HearthException($"HEARTH_CUDA_L2_PREFETCH: '{value}' is not a mask from 0 to {all} (1 attention pulls o, 2 norms pull the next linear's prefix, 4 q/k norm + RoPE pulls o; 0 off)");
    }

    /// <summary>A size in MiB (HEARTH_CUDA_L2_PREFETCH_MB, _O_MB): unset for <paramref name="defaultMegabytes"/>, else a number from 0 to 1024; returns bytes.</summary>
    public static long ParseMegabytes(string? value, double defaultMegabytes, string name)
    {
        double megabytes = defaultMegabytes;
        if (!string.IsNullOrWhiteSpace(value)
            && (!double.TryParse(value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out megabytes) || megabytes > 1024))
            throw new HearthException($"{name}: '{value}' is not a size in MiB from 0 to 1024");
        return (long)(megabytes * (1 << 20));
    }

    /// <summary>A count (HEARTH_CUDA_L2_PREFETCH_BLOCKS, _MAX_ROWS): unset for <paramref name="defaultValue"/>, else an integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static int ParseCount(string? value, int defaultValue, int min, int max, string name)
    {
        if (string.IsNullOrWhiteSpace(value)) return defaultValue;
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= min && count <= max) return count;
        throw new HearthException($"{name}: '{value}' is not an integer from {min} to {max}");
    }
}
