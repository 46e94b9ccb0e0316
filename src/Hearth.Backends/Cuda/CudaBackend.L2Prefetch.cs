namespace Hearth.Backends.Cuda;

// The next linear's weights pulled into L2 by the short kernels before it (Kernels/l2_prefetch.cuh). At batch 1 the
// memory bus idles for ~12 us a layer between q|k|v and o (q/k norm + RoPE + KV write, then the decode attention,
// which reads 2 MB of KV at 512 context), and the two residual norms are short gaps too; a separate prefetch kernel
// cost more in the PDL chain than it saved (docs/performance/cuda.md, session 8), so the kernels already in the chain
// issue it, spread over their blocks, before their wait. The model names the next linear with IBackend.HintNextLinear;
// the next short kernel whose site is switched on takes the hint, and every norm and attention clears it.
public sealed unsafe partial class CudaBackend
{
    /// <summary>
    /// Off by default: on the H100 (session 10, docs/performance/cuda.md) no site made the 14B batch-1 step faster for
    /// both int4 and fp8. The pulled o streams faster (int4 8.0 → 6.0 us, fp8 10.9 → 9.1 us a layer), but the prefetched
    /// bytes queue ahead of the attention's own K/V loads and the chain loses as much or more; the engine at mask 3 lost
    /// 1.5 % (fp8) and 3.3 % (int4).
    /// </summary>
    public const L2PrefetchSites DefaultL2PrefetchSites = L2PrefetchSites.None;

    private LinearWeight? _l2Next;
    private nint _rmsNormL2p, _addRmsNormL2p;
    private readonly Dictionary<int, nint> _qkNormRopeKvL2p = [];

    /// <summary>Which short kernels pull the next linear into L2 (HEARTH_CUDA_L2_PREFETCH, a mask; 0 turns it off).</summary>
    public L2PrefetchSites L2PrefetchSites { get; set; } =
        L2PrefetchOptions.ParseSites(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH"), DefaultL2PrefetchSites);

    /// <summary>
    /// The most bytes a norm pulls of the linear after it (HEARTH_CUDA_L2_PREFETCH_MB, default 2 MiB: of 2, 4, 8 and 16
    /// the least costly; fp8 gained 0.02-0.05 ms a step with it, int4 lost 0.03-0.07).
    /// </summary>
    public long L2PrefetchPrefixBytes { get; set; } =
        L2PrefetchOptions.ParseMegabytes(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH_MB"), 2, "HEARTH_CUDA_L2_PREFETCH_MB");

    /// <summary>
    /// The most bytes the attention (or RoPE) site pulls of the o projection (HEARTH_CUDA_L2_PREFETCH_O_MB, default 4 MiB:
    /// of the whole o, 8, 4 and 2 MiB the least costly, even with off at the 14B shape; a larger cap pulls a 14B fp8 o of
    /// 26 MB whole, and the H100's L2 is 50 MB).
    /// </summary>
    public long L2PrefetchWholeMaxBytes { get; set; } =
        L2PrefetchOptions.ParseMegabytes(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH_O_MB"), 4, "HEARTH_CUDA_L2_PREFETCH_O_MB");

    /// <summary>
    /// Prefetch-only blocks a norm's grid adds to its row blocks (HEARTH_CUDA_L2_PREFETCH_BLOCKS, default 8): a batch-1
    /// norm is one block, and one block issuing 8 MB of bulk prefetches made the 14B step 1.7 ms (int4) and 1.0 ms (fp8)
    /// slower than 8 extra blocks did (about 21 us a norm).
    /// </summary>
    public int L2PrefetchNormBlocks { get; set; } =
        L2PrefetchOptions.ParseCount(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH_BLOCKS"), 8, 0, 256, "HEARTH_CUDA_L2_PREFETCH_BLOCKS");

    /// <summary>Only steps of at most this many rows prefetch (HEARTH_CUDA_L2_PREFETCH_MAX_ROWS, default 4): larger steps have no idle bus.</summary>
    public int L2PrefetchMaxRows { get; set; } =
        L2PrefetchOptions.ParseCount(Environment.GetEnvironmentVariable("HEARTH_CUDA_L2_PREFETCH_MAX_ROWS"), 4, 0, 1 << 20, "HEARTH_CUDA_L2_PREFETCH_MAX_ROWS");

    /// <summary>Tiles of a decode GEMV's first wave (four blocks an SM): the prefix a capped prefetch takes.</summary>
    private int L2PrefetchWaveTiles => 4 * _device.NumMultiprocessors;

    /// <summary>Records the linear the forward pass runs next; the next short kernel at a switched-on site pulls it into L2.</summary>
    public void HintNextLinear(LinearWeight next) => _l2Next = next;

    private void LoadL2PrefetchFunctions()
    {
        _rmsNormL2p = Function("rms_norm_l2p_bf16x8");
        _addRmsNormL2p = Function("add_rms_norm_l2p_bf16x8");
        foreach (int dim in new[] { 64, 128, 256 }) _qkNormRopeKvL2p[dim] = Function($"qk_norm_rope_kv_l2p_warp_d{dim}");
    }

    /// <summary>
    /// The spans a kernel at <paramref name="site"/> with <paramref name="rows"/> token rows pulls: empty when the site is
    /// off, the step is large or nothing was hinted. Takes the hint, except that RoPE leaves it to the attention when its
    /// own site is off.
    /// </summary>
    private L2PrefetchSpans TakeL2Prefetch(L2PrefetchSites site, int rows)
    {
        var next = _l2Next;
        bool on = (L2PrefetchSites & site) != 0;
        if (site != L2PrefetchSites.Rope || on) _l2Next = null;
        if (next is null || !on || rows > L2PrefetchMaxRows) return default;
        long cap = site == L2PrefetchSites.Norms ? L2PrefetchPrefixBytes : L2PrefetchWholeMaxBytes;
        return L2PrefetchSpansOf(next, cap);
    }

    /// <summary>The device regions of <paramref name="weight"/> in its decode GEMV's tile order, cut to <paramref name="capBytes"/>.</summary>
    public L2PrefetchSpans L2PrefetchSpansOf(LinearWeight weight, long capBytes)
    {
        Span<L2WeightRegion> regions = stackalloc L2WeightRegion[12];
        int count = 0, firstTile = 0;
        foreach (var dense in weight.Parts)
            if (count < regions.Length) regions[count++] = L2WeightRegion.Contiguous((ulong)dense.Data, dense.SizeBytes);
        foreach (var matrix in weight.QuantizedParts)
        {
            if (count + 3 > regions.Length) break;
            if (!_quantParts.TryGetValue(matrix.Data.Data, out var part))
            {
                regions[count++] = L2WeightRegion.Contiguous((ulong)matrix.Data.Data, matrix.Data.SizeBytes);
                continue;
            }
            int tiles = CudaQuantTiles.PaddedRows(part.OutFeatures) / CudaQuantTiles.TileRows, k = part.InFeatures;
            var (dataTileBytes, paramTileBytes) = part.Family switch
            {
                CudaQuantFamily.F8 => (CudaQuantTiles.TileBytes(CudaQuantFamily.F8, k), 0L),
                CudaQuantFamily.G6 => (CudaQuantG6.TileDataBytes(k), CudaQuantG6.TileParamBytes(k)),
                CudaQuantFamily.K4 => (CudaQuantK4.TileDataBytes(k), CudaQuantK4.TileParamBytes(k)),
                _ => (CudaQuantTiles.TileBytes(part.Family, k), (long)(k / part.GroupSize) * CudaQuantTiles.TileRows * sizeof(uint)),
            };
            regions[count++] = new L2WeightRegion((ulong)part.Data, dataTileBytes, tiles, firstTile);
            if (part.Family == CudaQuantFamily.F8)
            {
                long scaleRows = (part.OutFeatures + part.BlockRows - 1) / part.BlockRows;
                regions[count++] = L2WeightRegion.Contiguous((ulong)part.Params, scaleRows * part.ScaleColumns * sizeof(float));
            }
            else regions[count++] = new L2WeightRegion((ulong)part.Params, paramTileBytes, tiles, firstTile);
            if (part.Permutation != 0) regions[count++] = L2WeightRegion.Contiguous((ulong)part.Permutation, (long)k * sizeof(int));
            firstTile += tiles;
        }
        return L2PrefetchPlan.Build(regions[..count], capBytes, L2PrefetchWaveTiles, L2PrefetchPlan.DecodeGemvWarpRuns);
    }

    /// <summary>Launches a wide norm that first pulls <paramref name="prefetch"/> into L2, with the extra prefetch-only blocks.</summary>
    private void LaunchNormWithPrefetch(nint function, int rows, uint threads, void** argsWithPrefetch) =>
        Launch(function, (uint)rows, (uint)(1 + L2PrefetchNormBlocks), threads, 0, argsWithPrefetch);
}
