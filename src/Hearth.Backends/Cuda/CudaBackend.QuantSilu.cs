using Hearth.Core;

namespace Hearth.Backends.Cuda;

// IBackend.LinearSiluMul for quantized gate|up weights at decode batch sizes (1-8 rows): gemv_silu_*_stream
// (gemv_quant_stream.cu) streams a gate tile and the matching up tile in one block and writes silu(gate)·up, so the
// [rows, 2·inter] gate|up product never goes to memory and the silu_mul launch disappears. Bit for bit the unfused
// Linear then SiluMul: the same tile sums, rounded to bf16 before the SiLU.
public sealed unsafe partial class CudaBackend
{
    private readonly Dictionary<CudaQuantFamily, nint> _quantSiluKernels = [];

    /// <summary>
    /// Fuse fp8 gate|up weights on the register-stream kernel too (HEARTH_CUDA_FUSE_SILU_FP8=1; the wide kernel, fp8's
    /// default, always fuses: its gate and up warps stream side by side). Off by default: with the register-stream f8
    /// kernel the fused launch made the 14B fp8 decode step 0.16 ms slower (QuantSiluTiming, docs/performance.md), while
    /// int4 was neutral and the g8 (ring) formats gained.
    /// </summary>
    public bool FuseQuantSiluMulFp8 { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_SILU_FP8") == "1";

    /// <summary>Launches of the fused quantized gate|up + SiLU·mul kernel so far (tests check the fused path ran).</summary>
    public long NumQuantSiluLaunches { get; private set; }

    private bool TryQuantStreamSilu(Tensor input, LinearWeight weight, Tensor output)
    {
        if (!FuseSiluMul || !UseQuantGemv || !UseQuantStreamGemv || !weight.IsQuantized || weight.Bias is not null) return false;
        var matrices = weight.QuantizedParts;
        if (matrices.Count != 2 || matrices[0].Format == WeightFormat.Dense || matrices[1].Format == WeightFormat.Dense) return false;
        var gate = PartOf(matrices[0]);
        var up = PartOf(matrices[1]);
        if (!QuantSiluFits(gate, up) || input.DType != DType.BF16 || output.DType != DType.BF16) return false;
        int k = gate.InFeatures, inter = gate.OutFeatures;
        if (gate.Family == CudaQuantFamily.G6) return TryG6Silu(gate, up, input, output);   // CudaBackend.Q6Compact.cs
        if (gate.Family == CudaQuantFamily.K4) return TryK4Silu(gate, up, input, output);   // CudaBackend.Q4Compact.cs
        // The wide kernel's gate and up warps stream side by side, so fusing costs it nothing (unlike the stream kernel's f8).
        bool wide = WideTakes(gate.Family, k, gate.GroupSize);
        if (gate.Family == CudaQuantFamily.F8 && !FuseQuantSiluMulFp8 && !wide) return false;
        long rowsLong = input.NumElements / k;
        if (rowsLong < 1 || rowsLong > QuantStreamMaxRows || rowsLong * k != input.NumElements || output.NumElements != rowsLong * inter) return false;
        if (input.Data % 16 != 0) return false;
        nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, x = input.Data, outPtr = output.Data;
        int n = inter, group = gate.GroupSize, blockRows = gate.BlockRows, scaleCols = gate.ScaleColumns, rows = (int)rowsLong;
        void** args = stackalloc void*[] { &d0, &p0, &d1, &p1, &n, &k, &group, &blockRows, &scaleCols, &x, &rows, &outPtr };
        uint tiles = (uint)(CudaQuantTiles.PaddedRows(inter) / 16);
        if (wide)
        {
            // The unfused gate|up launch's warps a tile (RunQuantGemv), so each tile is summed in the same order.
            int warps = CudaQuantWide.WarpsFor(gate.Family, k, inter, QuantWideWarps);
            // fp8: the unfused launch's kernel family too (WideKernelFor), f16 or bf16, for the same products.
            string siluKernel = gate.Family == CudaQuantFamily.G4 ? "gemv_silu_g4_wide"
                : CudaQuantWide.UsesF16Kernels(_device.ComputeMajor, _device.ComputeMinor, UseF8F16Kernels) ? "gemv_silu_f8_wide_h" : "gemv_silu_f8_wide";
            Launch(Function(siluKernel), tiles, 1, 64 * (uint)warps, 0, args);
            if (siluKernel == "gemv_silu_f8_wide_h") NumF8F16Launches++;
            NumQuantSiluLaunches++;
            NumQuantWideLaunches++;
            return true;
        }
        if (gate.Family == CudaQuantFamily.G4 && QuantI4Plan(gate, 2L * tiles, rows, gateUp: true, fusedSilu: true) is { Taken: true } i4)
        {
            // gemv_quant_i4.cu's silu mode: gemv_silu_g4_stream's tile sums and SiLU expression, on the balanced grid.
            LaunchQuantI4(i4, [gate, up, null], x, rows, outPtr, inter, outputF32: false, silu: true);
            NumQuantSiluLaunches++;
            return true;
        }
        if (!_quantSiluKernels.TryGetValue(gate.Family, out nint kernel))
        {
            kernel = Function(gate.Family switch
            {
                CudaQuantFamily.G4 => "gemv_silu_g4_stream",
                CudaQuantFamily.G8 => "gemv_silu_g8_stream",
                _ => "gemv_silu_f8_stream",
            });
            _quantSiluKernels[gate.Family] = kernel;
        }
        Launch(kernel, tiles, 1, 32 * QuantStreamWarps, 0, args);
        NumQuantSiluLaunches++;
        return true;
    }

    /// <summary>
    /// Whether a gate and an up part can share gemv_silu_*_stream: one family and parameter layout, the same rows and
    /// inputs, no input permutation (GPTQ act-order runs unfused), and a shape the streaming GEMV takes.
    /// </summary>
    internal static bool QuantSiluFits(CudaQuantPart gate, CudaQuantPart up) =>
        gate.Family == up.Family && gate.GroupSize == up.GroupSize && gate.BlockRows == up.BlockRows && gate.ScaleColumns == up.ScaleColumns
        && gate.OutFeatures == up.OutFeatures && gate.InFeatures == up.InFeatures && gate.Permutation == 0 && up.Permutation == 0
        && StreamFits(gate.Family, gate.InFeatures, gate.GroupSize);
}
