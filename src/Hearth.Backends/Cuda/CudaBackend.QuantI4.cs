namespace Hearth.Backends.Cuda;

// The int4 decode GEMV with three register stage buffers (gemv_quant_i4.cu, CudaQuantI4's rule): o and down of a 14B
// layer, whose 320 tiles fit one wave at 3 blocks an SM. Takes gemv_g4_stream's place for a launch and returns the
// same bits (the same per-tile arithmetic), so fused gate|up + SiLU, which stays on gemv_silu_g4_stream, still equals
// the unfused Linear.
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

    private void LoadQuantI4Functions()
    {
        LoadModule(QuantI4Module);
        _quantI4Kernel = Function(CudaQuantI4.KernelName);
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
