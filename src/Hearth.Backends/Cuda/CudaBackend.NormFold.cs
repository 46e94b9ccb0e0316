using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The residual add + RMSNorm folded into the fp8 wide GEMV that consumes it, at batch 1 (gemv_quant_wide.cu,
// qw_norm_prologue). Session 9's step ablation on the H100 (parity runner --ablation-timing) measured the two norm
// launches of a 14B fp8 layer at 7.0 µs, far more than their work: a norm triggers its dependents after its wait, so
// the next GEMV's blocks could not launch (and start their weight loads) until the previous GEMV had finished.
public sealed unsafe partial class CudaBackend : IAddRmsNormFusion
{
    /// <summary>Fold the residual norm into the consuming GEMV where it can (HEARTH_CUDA_FOLD_NORM=0 turns it off).</summary>
    public bool FoldAddRmsNorm { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FOLD_NORM") != "0";

    /// <summary>Folded launches so far (checks that the path ran).</summary>
    public long NumNormFoldLaunches { get; private set; }

    // The folded x lives in 48 KiB of shared memory at most (no opt-in attribute needed).
    private const int NormFoldMaxK = 48 * 1024 / 2;

    public bool FoldsAddRmsNorm(LinearWeight weight, int rows, bool siluMul)
    {
        if (!FoldAddRmsNorm || rows != 1 || !UseQuantGemv || !UseQuantStreamGemv || !weight.IsQuantized || weight.Bias is not null) return false;
        if (FoldParts(weight, siluMul) == 0) return false;
        var first = _foldParts[0]!;
        int k = first.InFeatures;
        return k % 8 == 0 && k <= NormFoldMaxK && WideTakes(first.Family, k, first.GroupSize) && first.Family == CudaQuantFamily.F8;
    }

    public void AddRmsNormLinear(Tensor residualIn, Tensor delta, Tensor normWeight, float epsilon, Tensor residualOut, LinearWeight weight, Tensor output)
    {
        if (!FoldsAddRmsNorm(weight, 1, siluMul: false)) throw new InvalidOperationException("this weight and batch do not fold the norm (FoldsAddRmsNorm)");
        int count = FoldParts(weight, siluMul: false);
        var first = _foldParts[0]!;
        var second = count > 1 ? _foldParts[1] : null;
        var third = count > 2 ? _foldParts[2] : null;
        int k = first.InFeatures;
        CheckFoldInputs(residualIn, delta, normWeight, residualOut, k);
        if (output.DType is not (DType.BF16 or DType.F32) || output.NumElements != weight.OutFeatures) throw new ArgumentException($"output must be [1, {weight.OutFeatures}] BF16 or F32");
        nint d0 = first.Data, p0 = first.Params, d1 = second?.Data ?? 0, p1 = second?.Params ?? 0, d2 = third?.Data ?? 0, p2 = third?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = second?.OutFeatures ?? 0, n2 = third?.OutFeatures ?? 0;
        int group = first.GroupSize, blockRows = first.BlockRows, scaleCols = first.ScaleColumns, outF32 = output.DType == DType.F32 ? 1 : 0;
        long ldOut = weight.OutFeatures;
        nint outPtr = output.Data, rIn = residualIn.Data, dPtr = delta.Data, wPtr = normWeight.Data, rOut = residualOut.Data;
        int prefetchLines = PrefetchLinesFor(wideKernel: true), normThreads = (int)NormThreads(1, k / 8);
        int tiles = (int)CudaQuantTiles.Tiles(n0, n1, n2);
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &blockRows, &scaleCols, &outPtr, &ldOut, &outF32,
            &prefetchLines, &rIn, &dPtr, &wPtr, &epsilon, &rOut, &normThreads, &tiles };
        int warps = CudaQuantWide.WarpsFor(first.Family, k, Math.Max(n0, Math.Max(n1, n2)), QuantWideWarps);
        LaunchPersistent("gemv_f8_wide_norm", tiles, 32 * warps, k * 2, args);
        NumQuantWideLaunches++;
        NumNormFoldLaunches++;
    }

    public void AddRmsNormLinearSiluMul(Tensor residualIn, Tensor delta, Tensor normWeight, float epsilon, Tensor residualOut, LinearWeight gateUpWeight,
        Tensor gateUp, Tensor output)
    {
        if (!FoldsAddRmsNorm(gateUpWeight, 1, siluMul: true)) throw new InvalidOperationException("this weight and batch do not fold the norm (FoldsAddRmsNorm)");
        FoldParts(gateUpWeight, siluMul: true);
        var (gate, up) = (_foldParts[0]!, _foldParts[1]!);
        int k = gate.InFeatures, n = gate.OutFeatures;
        CheckFoldInputs(residualIn, delta, normWeight, residualOut, k);
        Require(output, DType.BF16, nameof(output));
        if (output.NumElements != n) throw new ArgumentException($"output must be [1, {n}]");
        nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, outPtr = output.Data;
        nint rIn = residualIn.Data, dPtr = delta.Data, wPtr = normWeight.Data, rOut = residualOut.Data;
        int group = gate.GroupSize, blockRows = gate.BlockRows, scaleCols = gate.ScaleColumns;
        int prefetchLines = PrefetchLinesFor(wideKernel: true), normThreads = (int)NormThreads(1, k / 8);
        int tiles = CudaQuantTiles.PaddedRows(n) / 16;
        void** args = stackalloc void*[] { &d0, &p0, &d1, &p1, &n, &k, &group, &blockRows, &scaleCols, &outPtr, &prefetchLines,
            &rIn, &dPtr, &wPtr, &epsilon, &rOut, &normThreads, &tiles };
        // The unfused gate|up launch's warps a tile (RunQuantGemv), so each tile is summed in the same order.
        int warps = CudaQuantWide.WarpsFor(gate.Family, k, n, QuantWideWarps);
        LaunchPersistent("gemv_silu_f8_wide_norm", tiles, 64 * warps, k * 2, args);
        NumQuantSiluLaunches++;
        NumQuantWideLaunches++;
        NumNormFoldLaunches++;
    }

    private readonly Dictionary<(string, int, int), int> _foldResidentBlocks = [];

    // A persistent grid: as many blocks as fit the GPU at once (each computes its x once), at most one a tile.
    private void LaunchPersistent(string kernel, int tiles, int threads, int sharedBytes, void** args)
    {
        nint function = Function(kernel);
        if (!_foldResidentBlocks.TryGetValue((kernel, threads, sharedBytes), out int resident))
        {
            int perSm;
            _device.MakeCurrent();
            CuDriver.Check(CuDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, function, threads, (nuint)sharedBytes),
                $"cuOccupancyMaxActiveBlocksPerMultiprocessor({kernel})");
            resident = Math.Max(1, perSm) * MultiprocessorCount;
            _foldResidentBlocks[(kernel, threads, sharedBytes)] = resident;
        }
        Launch(function, (uint)Math.Min(tiles, resident), 1, (uint)threads, (uint)sharedBytes, args);
    }

    // The parts one launch takes, into _foldParts (reused: the engine thread alone launches): q|k|v (1-3 parts of one
    // layout, as RunQuantGemv groups them) or gate|up (two parts that fit the fused SiLU kernel); 0 when the weight does
    // not run as one such launch.
    private readonly CudaQuantPart?[] _foldParts = new CudaQuantPart?[3];

    private int FoldParts(LinearWeight weight, bool siluMul)
    {
        var matrices = weight.QuantizedParts;
        if (matrices.Count is 0 or > 3 || (siluMul && matrices.Count != 2)) return 0;
        for (int i = 0; i < matrices.Count; i++)
        {
            if (matrices[i].Format == WeightFormat.Dense) return 0;
            var p = _foldParts[i] = PartOf(matrices[i]);
            var first = _foldParts[0]!;
            if (p.Permutation != 0 || p.Family != first.Family || p.GroupSize != first.GroupSize || p.BlockRows != first.BlockRows
                || p.ScaleColumns != first.ScaleColumns || p.InFeatures != first.InFeatures) return 0;
        }
        if (siluMul && (!FuseSiluMul || !QuantSiluFits(_foldParts[0]!, _foldParts[1]!))) return 0;
        return matrices.Count;
    }

    private static void CheckFoldInputs(Tensor residualIn, Tensor delta, Tensor normWeight, Tensor residualOut, int k)
    {
        RequireVector(residualIn, k, nameof(residualIn));
        RequireVector(delta, k, nameof(delta));
        RequireVector(normWeight, k, nameof(normWeight));
        RequireVector(residualOut, k, nameof(residualOut));
        if (residualOut.Data == residualIn.Data) throw new ArgumentException("residualOut must not alias residualIn: the fused launch's blocks read one while block 0 writes the other");
        ReadOnlySpan<nint> pointers = [residualIn.Data, delta.Data, normWeight.Data, residualOut.Data];
        foreach (nint p in pointers)
            if (p % 16 != 0) throw new ArgumentException("the folded norm's vectors must be 16-byte aligned");
    }
}
