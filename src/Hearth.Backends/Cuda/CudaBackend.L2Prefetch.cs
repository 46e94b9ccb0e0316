using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda;

// IBackend.PrefetchWeight: at decode sizes the DRAM idles while the short kernels between two GEMVs run (q/k norm,
// attention, the residual RMSNorms); l2_prefetch (elementwise.cu) spends that time pulling the next linear's weights
// into L2, so the GEMV then streams part of them from L2.
public sealed unsafe partial class CudaBackend
{
    private const int L2PrefetchMaxRanges = 8;
    private const uint L2PrefetchWindowBytes = 8192;
    private const uint L2PrefetchThreads = 64;
    private nint _l2Prefetch;

    /// <summary>
    /// Prefetch weights into L2 before a decode-size linear (on by default; HEARTH_CUDA_L2_PREFETCH=0 turns it off).
    /// Only forward passes that use programmatic dependent launch (<see cref="BeginForward"/>) prefetch: there the
    /// prefetch overlaps the kernels before the linear; larger steps are bound by arithmetic, not by the weights.
    /// </summary>
    public bool L2PrefetchEnabled { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH") != "0";

    /// <summary>
    /// The most bytes one prefetch pulls in (default half the L2, HEARTH_CUDA_L2_PREFETCH_MB overrides it); a larger
    /// weight gets the same share of every 8 KiB window.
    /// </summary>
    public long L2PrefetchMaxBytes { get; set; }

    private void LoadL2PrefetchFunction()
    {
        _l2Prefetch = Function("l2_prefetch");
        L2PrefetchMaxBytes = long.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH_MB"), out long mb)
            ? Math.Max(0, mb) << 20 : _device.L2CacheSizeBytes / 2;
    }

    public void PrefetchWeight(LinearWeight weight)
    {
        if (!L2PrefetchEnabled || !_device.UseProgrammaticLaunch || L2PrefetchMaxBytes <= 0) return;
        L2PrefetchRanges ranges = default;
        long total = 0;
        foreach (var (address, bytes) in WeightRanges(weight))
        {
            if (ranges.Count == L2PrefetchMaxRanges) break;
            long aligned = bytes / 16 * 16;
            if (aligned <= 0 || address % 16 != 0) continue;
            ranges.Base[ranges.Count] = (ulong)address;
            ranges.Bytes[ranges.Count] = (ulong)aligned;
            ranges.Count++;
            total += aligned;
        }
        if (total == 0) return;
        ranges.WindowBytes = L2PrefetchWindowBytes;
        ranges.FetchBytes = L2PrefetchPlan.FetchBytesPerWindow(total, L2PrefetchMaxBytes, L2PrefetchWindowBytes);
        if (ranges.FetchBytes == 0) return;
        long windows = L2PrefetchPlan.Windows(ranges, L2PrefetchWindowBytes);
        uint blocks = (uint)Math.Clamp((windows + L2PrefetchThreads - 1) / L2PrefetchThreads, 1, 2L * _device.NumMultiprocessors);
        void** args = stackalloc void*[] { &ranges };
        Launch(_l2Prefetch, blocks, 1, L2PrefetchThreads, 0, args);
    }

    /// <summary>The device byte ranges a linear's GEMV streams: dense parts, or each quantized part's tiles and params.</summary>
    private IEnumerable<(nint Address, long Bytes)> WeightRanges(LinearWeight weight)
    {
        if (!weight.IsQuantized)
        {
            foreach (var part in weight.Parts) yield return (part.Data, part.SizeBytes);
            yield break;
        }
        foreach (var matrix in weight.QuantizedParts)
        {
            if (!_quantParts.TryGetValue(matrix.Data.Data, out var part)) continue;
            long permutationBytes = part.Permutation != 0 ? (long)part.InFeatures * sizeof(int) : 0;
            if (part.Family == CudaQuantFamily.F8)
            {
                long scaleBytes = (long)((part.OutFeatures + part.BlockRows - 1) / part.BlockRows) * part.ScaleColumns * sizeof(float);
                yield return (part.Data, part.SizeBytes - scaleBytes);
                yield return (part.Params, scaleBytes);
            }
            else yield return (part.Data, part.SizeBytes - permutationBytes);   // tiles then params, one allocation
        }
    }
}

/// <summary>l2_prefetch's argument, laid out as the kernel's struct (elementwise.cu).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct L2PrefetchRanges
{
    public fixed ulong Base[8];
    public fixed ulong Bytes[8];
    public int Count;
    public uint WindowBytes;
    public uint FetchBytes;
}
