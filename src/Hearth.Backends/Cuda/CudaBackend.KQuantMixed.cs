using Hearth.Core;

namespace Hearth.Backends.Cuda;

// GGUF K-quant mixes at decode batch sizes: llama.cpp's Q4_K_M stores attn_v in Q6_K on half the layers, so their
// fused q|k|v is Q4_K, Q4_K, Q6_K (families g4, g4, g8). LinearQuantized groups parts of one family per launch, so such
// a q|k|v took two: q|k, then v alone on 64 blocks (1,024 rows), which leaves half the GPU idle while it streams.
// gemv_g4g8_stream (gemv_quant_stream.cu) takes the parts of both families in one grid, each block running its tile
// with its family's code, so the outputs equal the per-family launches bit for bit.
public sealed unsafe partial class CudaBackend
{
    private nint _mixedKQuantStream;
    private readonly CudaQuantPart[] _mixedParts = new CudaQuantPart[3];

    /// <summary>Serve fused parts of the g4 and g8 families in one streaming launch (HEARTH_CUDA_KQUANT_MIXED=0: one launch per family, for A/B timing).</summary>
    public bool UseMixedKQuantGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_KQUANT_MIXED") != "0";

    /// <summary>Launches of the mixed-family streaming GEMV so far (tests check it ran).</summary>
    public long NumMixedKQuantLaunches { get; private set; }

    /// <summary>
    /// GGUF g4 launches (Q4_0, Q4_K) of at most this many 16-row tiles stream through the cp.async ring instead of
    /// registers (gemv_g4_ring_stream, and the g4 parts of gemv_g4g8_stream) when their k is long or they mix families
    /// (<see cref="UsesKQuantRing(long, int, bool, int, int)"/>). Default 4 per SM; HEARTH_CUDA_KQUANT_RING_TILES sets
    /// it, 0 = never.
    /// </summary>
    public int KQuantRingMaxTiles { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_KQUANT_RING_TILES"), out int tiles) ? tiles : -1;

    private nint _g4RingStream;

    /// <summary>
    /// Session 7 on the H100 (GgufStepTiming, µs at the 14B shape): the ring took the Q4_K down (320 tiles, k = 17408)
    /// from 33.7 to 28.2, where the register stream's two stages a warp keep too few bytes in flight at 2.4 blocks an
    /// SM; the Q4_K q|k|v alone (448 tiles, k = 5120) went the other way, 12.5 to 17.3, and o (320 tiles, k = 5120)
    /// 11.4 to 11.1. So: few tiles and a long k, or a mixed launch (ring 21.2, registers 20.9: even, and the ring is the
    /// combination the parity run checked).
    /// </summary>
    internal static bool UsesKQuantRing(long tiles, int k, bool mixesFamilies, int maxTiles, int multiprocessors) =>
        tiles <= (maxTiles >= 0 ? maxTiles : 4L * multiprocessors) && (k >= 8192 || mixesFamilies);

    /// <summary>The streaming kernel for a launch of <paramref name="first"/>'s family: GGUF g4 with few tiles takes the ring.</summary>
    private nint StreamKernelFor(CudaQuantPart first, long tiles, nint registerKernel)
    {
        if (first.Family != CudaQuantFamily.G4 || first.Format is not (WeightFormat.Q4_K or WeightFormat.Q4_0)
            || !UsesKQuantRing(tiles, first.InFeatures, mixesFamilies: false, KQuantRingMaxTiles, _device.NumMultiprocessors)) return registerKernel;
        if (_g4RingStream == 0) _g4RingStream = Function("gemv_g4_ring_stream");
        return _g4RingStream;
    }

    /// <summary>
    /// Whether fused parts can share one gemv_g4g8_stream launch: two or three parts, both families g4 and g8 present
    /// (one family alone already shares a launch), every part unpermuted, of the same k, in a shape the streaming GEMV
    /// takes, and one group size per family (the kernel takes one for each).
    /// </summary>
    internal static bool MixedKQuantFits(ReadOnlySpan<CudaQuantPart> parts)
    {
        if (parts.Length is < 2 or > 3) return false;
        int group4 = 0, group8 = 0, k = parts[0].InFeatures;
        foreach (var part in parts)
        {
            if (part.Permutation != 0 || part.InFeatures != k || !StreamFits(part.Family, k, part.GroupSize)) return false;
            if (part.Family is CudaQuantFamily.F8 or CudaQuantFamily.G6 or CudaQuantFamily.K4) return false;
            int group = part.Family == CudaQuantFamily.G4 ? group4 : group8;
            if (group != 0 && group != part.GroupSize) return false;
            if (part.Family == CudaQuantFamily.G4) group4 = part.GroupSize;
            else group8 = part.GroupSize;
        }
        return group4 != 0 && group8 != 0;
    }

    private bool TryMixedKQuantGemv(Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        if (!UseMixedKQuantGemv || !UseQuantGemv || !UseQuantStreamGemv || rows < 1 || rows > QuantStreamMaxRows || input.Data % 16 != 0) return false;
        var matrices = weight.QuantizedParts;
        if (matrices.Count is < 2 or > 3) return false;
        Span<CudaQuantPart> parts = _mixedParts.AsSpan(0, matrices.Count);
        for (int i = 0; i < parts.Length; i++)
        {
            if (matrices[i].Format == WeightFormat.Dense) return false;
            parts[i] = PartOf(matrices[i]);
        }
        if (TryMixedG6Gemv(parts, input, weight, output, rows)) return true;   // Q4_K|Q6_K on the compact layout (CudaBackend.Q6Compact.cs)
        if (TryMixedK4Gemv(parts, input, weight, output, rows)) return true;   // the same with compact Q4_K (CudaBackend.Q4Compact.cs)
        if (!MixedKQuantFits(parts)) return false;
        if (_mixedKQuantStream == 0) _mixedKQuantStream = Function("gemv_g4g8_stream");
        nint d0 = parts[0].Data, p0 = parts[0].Params, d1 = parts[1].Data, p1 = parts[1].Params;
        nint d2 = parts.Length > 2 ? parts[2].Data : 0, p2 = parts.Length > 2 ? parts[2].Params : 0;
        int n0 = parts[0].OutFeatures, n1 = parts[1].OutFeatures, n2 = parts.Length > 2 ? parts[2].OutFeatures : 0;
        int k = parts[0].InFeatures, group4 = 0, group8 = 0, g8Mask = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Family == CudaQuantFamily.G8) { group8 = parts[i].GroupSize; g8Mask |= 1 << i; }
            else group4 = parts[i].GroupSize;
        }
        nint x = input.Data, outPtr = output.Data;
        int m = rows, outF32 = output.DType == DType.F32 ? 1 : 0;
        long ldOut = weight.OutFeatures;
        long tiles = CudaQuantTiles.Tiles(n0, n1, n2);
        int g4Ring = UsesKQuantRing(tiles, k, mixesFamilies: true, KQuantRingMaxTiles, _device.NumMultiprocessors) ? 1 : 0;
        int splits = QuantSplitsFor(tiles, k, (int)QuantStreamWarps), prefetchLines = PrefetchLinesFor(wideKernel: false);
        nint partials = SplitPartials, counters = SplitCounters;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group4, &group8, &g8Mask, &g4Ring, &x, &m, &outPtr, &ldOut, &outF32,
            &splits, &partials, &counters, &prefetchLines };
        Launch(_mixedKQuantStream, (uint)(tiles * splits), 1, 32 * QuantStreamWarps, 0, args);
        NumMixedKQuantLaunches++;
        return true;
    }
}
