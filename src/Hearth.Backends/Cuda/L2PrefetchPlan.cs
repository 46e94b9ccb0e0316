namespace Hearth.Backends.Cuda;

/// <summary>How much of each window an L2 prefetch fetches so that a weight larger than the cap is still covered evenly.</summary>
internal static class L2PrefetchPlan
{
    /// <summary>
    /// Bytes fetched at the start of every <paramref name="windowBytes"/> window: the whole window when the weight fits
    /// under <paramref name="maxBytes"/>, else the window's share of the cap rounded down to 16 bytes (0: nothing).
    /// </summary>
    public static uint FetchBytesPerWindow(long totalBytes, long maxBytes, uint windowBytes)
    {
        if (totalBytes <= 0 || maxBytes <= 0) return 0;
        if (totalBytes <= maxBytes) return windowBytes;
        long share = (long)((double)windowBytes * maxBytes / totalBytes);
        return (uint)(share / 16 * 16);
    }

    /// <summary>Windows over all ranges: the work items the kernel's threads take in turn.</summary>
    public static unsafe long Windows(L2PrefetchRanges ranges, uint windowBytes)
    {
        long windows = 0;
        for (int i = 0; i < ranges.Count; i++) windows += (long)((ranges.Bytes[i] + windowBytes - 1) / windowBytes);
        return windows;
    }
}
