namespace Hearth.Backends.Cuda;

// The int4 decode GEMVs of gemv_quant_i4.cu. Session 9: three register stage buffers a warp (CudaQuantI4's rule), for
// launches whose tiles fit one wave, returning gemv_g4_stream's bits. Session 10: the stream-K kernel
// (CudaQuantI4StreamK), every resident warp streaming an equal run of the launch's stages, for the launches
// QuantI4StreamKTakes picks; a gate|up pair takes it both fused with SiLU and unfused (mode 2, the same cut), so
// LinearSiluMul still equals Linear then SiluMul bit for bit.
public sealed unsafe partial class CudaBackend
{
    private const string QuantI4Module = "gemv_quant_i4.cu";
    private nint _quantI4Kernel;

    /// <summary>Run the int4 launches CudaQuantI4 picks through gemv_quant_i4.cu (HEARTH_CUDA_I4_NEW=0: off, for A/B timing).</summary>
    public bool UseQuantI4 { get; set; } = CudaQuantI4.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_I4_NEW"));

    /// <summary>Launches of the i4 kernel so far (checks that the path ran, or did not).</summary>
    public long NumQuantI4Launches { get; private set; }

    /// <summary>The most 16-row tiles a launch may have to take the i4 kernel on this device (one wave at its occupancy).</summary>
    public long QuantI4MaxTiles => (long)CudaQuantI4.BlocksPerMultiprocessor * _device.NumMultiprocessors;

    private nint _quantI4StreamKKernel;
    private CudaBuffer? _i4StreamKWork, _i4StreamKCounters;

    /// <summary>
    /// Run the launches <see cref="QuantI4StreamKTakes"/> picks through the stream-K kernel (HEARTH_CUDA_I4_SK=0: off, for
    /// A/B timing; they go back to gemv_g4_stream, gemv_silu_g4_stream or the session-9 kernel).
    /// </summary>
    public bool UseQuantI4StreamK { get; set; } = CudaQuantI4StreamK.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_I4_SK"));

    /// <summary>Launches of the stream-K kernel so far, fused gate|up included (checks that the path ran, or did not).</summary>
    public long NumQuantI4StreamKLaunches { get; private set; }

    private void LoadQuantI4Functions()
    {
        LoadModule(QuantI4Module);
        _quantI4Kernel = Function(CudaQuantI4.KernelName);
        _quantI4StreamKKernel = Function(CudaQuantI4StreamK.KernelName);
        // Zeroed once before any graph is captured and left zero by every launch (each tile's last warp resets its counter).
        _i4StreamKWork = CudaBuffer.Allocate(_device, CudaQuantI4StreamK.WorkspaceFloatsCapacity * sizeof(float));
        _i4StreamKCounters = CudaBuffer.Allocate(_device, CudaQuantI4StreamK.CounterCapacity * sizeof(int));
    }

    private void DisposeQuantI4()
    {
        _i4StreamKWork?.Dispose();
        _i4StreamKWork = null;
        _i4StreamKCounters?.Dispose();
        _i4StreamKCounters = null;
    }

    /// <summary>
    /// Whether a g4 launch of these parts takes the stream-K kernel: q|k|v (three parts) and gate|up pairs
    /// (<paramref name="pair"/>: two parts QuantSiluFits pairs, fused or not), in a shape CudaQuantI4StreamK takes.
    /// Single-part launches (o, down) keep the session-9 rule.
    /// </summary>
    private bool QuantI4StreamKTakes(CudaQuantPart first, int partCount, bool pair, long tiles, int rows) =>
        UseQuantI4StreamK && first.Permutation == 0 && (pair || partCount == 3)
        && CudaQuantI4StreamK.Takes(first.Family, first.InFeatures, first.GroupSize, tiles, rows, _device.NumMultiprocessors);

    // gemv_g4_i4sk_*: the parts (for modes 1 and 2 gate then up, n0 = n1), k, group, x, m, out, ldOut, outF32, mode, work, counters.
    private void LaunchQuantI4StreamK(CudaQuantPart first, CudaQuantPart? second, CudaQuantPart? third, int mode, long tiles, nint x, int rows,
        nint outSlice, long ldOut, bool outputF32)
    {
        nint d0 = first.Data, p0 = first.Params, d1 = second?.Data ?? 0, p1 = second?.Params ?? 0, d2 = third?.Data ?? 0, p2 = third?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = second?.OutFeatures ?? 0, n2 = third?.OutFeatures ?? 0;
        int k = first.InFeatures, group = first.GroupSize, m = rows, outF32 = outputF32 ? 1 : 0, kernelMode = mode;
        nint work = _i4StreamKWork!.Data, counters = _i4StreamKCounters!.Data;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &x, &m, &outSlice, &ldOut, &outF32, &kernelMode,
            &work, &counters };
        uint blocks = (uint)CudaQuantI4StreamK.Blocks(tiles, k, _device.NumMultiprocessors);
        Launch(_quantI4StreamKKernel, blocks, 1, 32 * CudaQuantI4StreamK.WarpsPerBlock, 0, args);
        NumQuantI4StreamKLaunches++;
    }

    private bool QuantI4Takes(CudaQuantPart first, long tiles, int rows) =>
        UseQuantI4 && first.Permutation == 0 && CudaQuantI4.Takes(first.Family, first.InFeatures, first.GroupSize, tiles, rows, _device.NumMultiprocessors);

    // One block a tile; the kernel's arguments are gemv_g4_stream's parts, then k, group, x, m, out, ldOut, outF32, silu = 0.
    private void LaunchQuantI4(ReadOnlySpan<CudaQuantPart?> parts, long tiles, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0;
        int k = first.InFeatures, group = first.GroupSize, m = rows, outF32 = outputF32 ? 1 : 0, silu = 0;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &x, &m, &outSlice, &ldOut, &outF32, &silu };
        Launch(_quantI4Kernel, (uint)tiles, 1, 32 * CudaQuantI4.Warps, 0, args);
        NumQuantI4Launches++;
    }
}
