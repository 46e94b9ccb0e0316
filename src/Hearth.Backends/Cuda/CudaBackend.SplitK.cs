namespace Hearth.Backends.Cuda;

// Split k and the pre-wait L2 prefetch for the quantized decode GEMVs (1-8 rows: gemv_*_stream, gemv_g4_ring_stream,
// gemv_g4g8_stream, gemv_*_wide). Every one of those kernels takes (splits, partials, counters, prefetchLines) after
// its other arguments; the workspace is allocated once, zeroed, before any graph is captured, and left zero by every
// launch (the last block of each tile resets its counter), so captured graphs replay it as they are.
public sealed unsafe partial class CudaBackend
{
    private CudaBuffer? _splitPartials, _splitCounters;

    /// <summary>
    /// Split the k of short quantized GEMV launches over several blocks (CudaQuantSplitK's rule). HEARTH_CUDA_QUANT_SPLITK=0
    /// turns it off (A/B timing); 2-4 forces that many splits wherever a launch allows it.
    /// </summary>
    public bool UseQuantSplitK { get; set; } = CudaQuantSplitK.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_SPLITK")).Enabled;

    /// <summary>Splits to force instead of the rule (null: the rule). HEARTH_CUDA_QUANT_SPLITK=2..4.</summary>
    public int? QuantSplitKForced { get; set; } = CudaQuantSplitK.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_SPLITK")).Forced;

    /// <summary>
    /// 128-byte weight lines each warp of a quantized decode GEMV pulls into L2 before its PDL wait, for every launch
    /// (HEARTH_CUDA_QUANT_PREFETCH; 0 = none); null = <see cref="DefaultPrefetchLines"/>. Only matters with programmatic
    /// dependent launch (sm_90+): the lines stream in while the previous kernels finish.
    /// </summary>
    public int? QuantPrefetchLines { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_PREFETCH"), out int lines) && lines >= 0 ? lines : null;

    /// <summary>
    /// Session 8 (H100, 14B layer at m = 1 in the harness, PDL): 16 lines a warp (half the wide kernel's second stage)
    /// took the fp8 wide GEMV's layer from 128.4 to 119.1 µs; 64 lines 122.0, 256 and more slower than none. The int4
    /// register stream gained 1.5 % at 16 and lost at 64 (through the backend 84.0 → 88.8 µs), Q4_K lost at every
    /// depth, so only the wide kernel prefetches by default.
    /// </summary>
    internal static int DefaultPrefetchLines(bool wideKernel) => wideKernel ? 16 : 0;

    private int PrefetchLinesFor(bool wideKernel) => QuantPrefetchLines ?? DefaultPrefetchLines(wideKernel);

    /// <summary>Streaming multiprocessors of the device (the split rule's measure of a short launch).</summary>
    public int MultiprocessorCount => _device.NumMultiprocessors;

    /// <summary>Quantized GEMV launches that ran split (splits of 2 or more) so far (tests check the path ran).</summary>
    public long NumQuantSplitLaunches { get; private set; }

    private void AllocateSplitWorkspace()
    {
        _splitPartials = CudaBuffer.Allocate(_device, CudaQuantSplitK.PartialsBytes);
        _splitCounters = CudaBuffer.Allocate(_device, CudaQuantSplitK.CountersBytes);
    }

    /// <summary>Splits for a decode GEMV launch of <paramref name="tiles"/> tiles of <paramref name="k"/> inputs.</summary>
    private int QuantSplitsFor(long tiles, int k, int warpsPerBlock)
    {
        if (!UseQuantSplitK) return 1;
        int splits = CudaQuantSplitK.SplitsFor(tiles, k, warpsPerBlock, _device.NumMultiprocessors, QuantSplitKForced);
        if (splits > 1) NumQuantSplitLaunches++;
        return splits;
    }

    private nint SplitPartials => _splitPartials!.Data;

    private nint SplitCounters => _splitCounters!.Data;

    private void DisposeSplitWorkspace()
    {
        _splitPartials?.Dispose();
        _splitPartials = null;
        _splitCounters?.Dispose();
        _splitCounters = null;
    }
}
