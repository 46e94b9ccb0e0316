namespace Hearth.Backends.Cuda;

// The int4 decode GEMVs of gemv_quant_i4.cu (CudaQuantI4.Plan): register streams of 2 or 3 stage buffers a warp with
// gemv_g4_stream's per-tile arithmetic, so every launch they take returns the stream kernels' bits. Session 9: o and
// down (one wave at 3 blocks an SM). Session 10: the lop3 operands, q|k|v on the 4-block two-stage kernel, and gate|up
// pairs on the balanced grid, fused with SiLU (LinearSiluMul) or not (Linear): both the same tile sums as
// gemv_silu_g4_stream, so the fused launch still equals Linear then SiluMul bit for bit. Session 11 (QuantI4V3): the same
// kernel shapes and grids with x's group sums at half the MMAs (or, for A/B runs, q − z operands on Int4Group, or session
// 10's arithmetic with unpredicated x loads); the first two differ from the stream kernels in the last bits (within the
// quantized checks' tolerances), and the fused gate|up launch still runs the same tile sums as the unfused Linear.
public sealed unsafe partial class CudaBackend
{
    private const string QuantI4Module = "gemv_quant_i4.cu";
    private nint _quantI4Kernel, _quantI4TwoStageKernel, _quantI4Session9Kernel;
    private readonly Dictionary<CudaQuantI4Kernel, nint> _quantI4Session11Kernels = [];

    /// <summary>Run the int4 launches CudaQuantI4 picks through gemv_quant_i4.cu (HEARTH_CUDA_I4_NEW=0: off, for A/B timing).</summary>
    public bool UseQuantI4 { get; set; } = CudaQuantI4.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_I4_NEW"));

    /// <summary>
    /// Session 10's i4 paths: the lop3 operands, q|k|v and gate|up (HEARTH_CUDA_I4_V2=0: session 9's, o and down on its
    /// kernel only, for A/B timing). Needs <see cref="UseQuantI4"/>.
    /// </summary>
    public bool UseQuantI4V2 { get; set; } = CudaQuantI4.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_I4_V2"));

    /// <summary>
    /// Session 11's kernels (HEARTH_CUDA_I4_V3: "0" session 10's kernels, for A/B timing; "qz" q − z operands on Int4Group;
    /// "xp" session 10's arithmetic with the new x loads; default x's group sums at half the MMAs). Needs
    /// <see cref="UseQuantI4"/> and <see cref="UseQuantI4V2"/>.
    /// </summary>
    public CudaQuantI4V3 QuantI4V3 { get; set; } = CudaQuantI4.ParseV3(Environment.GetEnvironmentVariable("HEARTH_CUDA_I4_V3"));

    /// <summary>Launches of session 11's kernels so far (q − z and group sums; checks that the path ran, or did not).</summary>
    public long NumQuantI4V3Launches { get; private set; }

    /// <summary>Launches of the i4 kernels so far, fused gate|up included (checks that the path ran, or did not).</summary>
    public long NumQuantI4Launches { get; private set; }

    /// <summary>Launches of the i4 two-stage kernel so far (checks that the q|k|v path ran).</summary>
    public long NumQuantI4TwoStageLaunches { get; private set; }

    /// <summary>The most 16-row tiles a launch other than gate|up may have to take an i4 kernel on this device (one wave at its occupancy).</summary>
    public long QuantI4MaxTiles =>
        (long)(UseQuantI4V2 ? CudaQuantI4.TwoStageBlocksPerMultiprocessor : CudaQuantI4.BlocksPerMultiprocessor) * _device.NumMultiprocessors;

    private void LoadQuantI4Functions()
    {
        LoadModule(QuantI4Module);
        _quantI4Kernel = Function(CudaQuantI4.KernelName);
        _quantI4TwoStageKernel = Function(CudaQuantI4.TwoStageKernelName);
        _quantI4Session9Kernel = Function(CudaQuantI4.Session9KernelName);
        foreach (var (kernel, name) in CudaQuantI4.Session11KernelNames) _quantI4Session11Kernels[kernel] = Function(name);
    }

    private CudaQuantI4Launch QuantI4Plan(CudaQuantPart first, long tiles, int rows, bool gateUp, bool fusedSilu)
    {
        if (!UseQuantI4 || first.Permutation != 0) return default;
        var plan = CudaQuantI4.Plan(first.Family, first.InFeatures, first.GroupSize, tiles, rows, gateUp, fusedSilu, UseQuantI4V2, _device.NumMultiprocessors);
        return UseQuantI4V2 ? CudaQuantI4.Session11(plan, QuantI4V3, CudaQuantI4.HasIntegerZeros(first.Format)) : plan;
    }

    // The kernel's arguments are gemv_g4_stream's parts (gate, up for silu), then k, group, x, m, out, ldOut, outF32, silu.
    private void LaunchQuantI4(CudaQuantI4Launch plan, ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32,
        bool silu = false)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0;
        int k = first.InFeatures, group = first.GroupSize, m = rows, outF32 = outputF32 ? 1 : 0, siluFlag = silu ? 1 : 0;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &x, &m, &outSlice, &ldOut, &outF32, &siluFlag };
        nint kernel = plan.Kernel switch
        {
            CudaQuantI4Kernel.ThreeStage => _quantI4Kernel,
            CudaQuantI4Kernel.TwoStage => _quantI4TwoStageKernel,
            CudaQuantI4Kernel.Session9 => _quantI4Session9Kernel,
            _ when _quantI4Session11Kernels.TryGetValue(plan.Kernel, out nint session11) => session11,
            _ => throw new InvalidOperationException("no i4 kernel takes this launch"),
        };
        Launch(kernel, (uint)plan.Blocks, 1, 32 * CudaQuantI4.Warps, 0, args);
        NumQuantI4Launches++;
        if (plan.Kernel is CudaQuantI4Kernel.TwoStage or CudaQuantI4Kernel.HalfSumsTwoStage or CudaQuantI4Kernel.ZeroTwoStage
            or CudaQuantI4Kernel.PointerXTwoStage) NumQuantI4TwoStageLaunches++;
        if (CudaQuantI4.Session11KernelNames.ContainsKey(plan.Kernel)) NumQuantI4V3Launches++;
    }
}
