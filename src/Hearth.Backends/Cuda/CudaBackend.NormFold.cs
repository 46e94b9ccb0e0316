using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The residual add + RMSNorm split over the fp8 wide GEMVs around it, at batch 1 (gemv_quant_wide.cu: the producer
// gemv_f8_wide_residual, the consumers gemv_f8_wide_norm and gemv_silu_f8_wide_norm). Session 9's step ablation on the
// H100 (parity runner --ablation-timing) measured the two norm launches of a 14B fp8 layer at 6-7 µs, far more than
// their work: each is a serial hop between two GEMVs. Done inside the consumer instead (every block normalizing its
// own copy of x first) it cost as much, a persistent grid included, so the producer does the add and the sums of
// squares in its epilogue and the consumer only adds 320 sums before it streams.
public sealed unsafe partial class CudaBackend : IAddRmsNormFusion
{
    /// <summary>Split residual norms over the GEMVs around them where they can (HEARTH_CUDA_FOLD_NORM=0 turns it off).</summary>
    public bool FoldAddRmsNorm { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FOLD_NORM") != "0";

    /// <summary>Producer and consumer launches so far (checks that the path ran).</summary>
    public long NumNormFoldLaunches { get; private set; }

    public int NormFoldSumsLength(int hidden) => CudaQuantTiles.PaddedRows(hidden) / 16;

    public bool FoldsAddRmsNorm(LinearWeight weight, int rows, NormFoldRole role)
    {
        if (!FoldAddRmsNorm || rows != 1 || !UseQuantGemv || !UseQuantStreamGemv || !weight.IsQuantized || weight.Bias is not null) return false;
        int count = FoldParts(weight, role);
        if (count == 0) return false;
        var first = _foldParts[0]!;
        int k = first.InFeatures;
        // A consumer keeps x in k · 2 bytes of shared memory (48 KiB without an opt-in attribute).
        return first.Family == CudaQuantFamily.F8 && WideTakes(first.Family, k, first.GroupSize)
            && (role == NormFoldRole.Producer ? count == 1 : k <= 24 * 1024);
    }

    public void LinearAddResidual(Tensor input, LinearWeight weight, Tensor output, Tensor residual, Tensor sumSquares)
    {
        RequireFold(weight, NormFoldRole.Producer);
        var part = _foldParts[0]!;
        int k = part.InFeatures, n = part.OutFeatures;
        Require(input, DType.BF16, nameof(input));
        if (input.NumElements != k || input.Data % 16 != 0) throw new ArgumentException($"input must be [1, {k}], 16-byte aligned");
        RequireVector(output, n, nameof(output));
        RequireVector(residual, n, nameof(residual));
        RequireSums(sumSquares, n);
        nint d0 = part.Data, p0 = part.Params, x = input.Data, outPtr = output.Data, residualPtr = residual.Data, sums = sumSquares.Data;
        int group = part.GroupSize, blockRows = part.BlockRows, scaleCols = part.ScaleColumns, prefetchLines = PrefetchLinesFor(wideKernel: true);
        void** args = stackalloc void*[] { &d0, &p0, &n, &k, &group, &blockRows, &scaleCols, &x, &outPtr, &prefetchLines, &residualPtr, &sums };
        int warps = CudaQuantWide.WarpsFor(part.Family, k, n, QuantWideWarps);
        Launch(Function("gemv_f8_wide_residual"), (uint)CudaQuantTiles.Tiles(n, 0, 0), 1, 32 * (uint)warps, 0, args);
        NumQuantWideLaunches++;
        NumNormFoldLaunches++;
    }

    public void NormedLinear(Tensor residual, Tensor sumSquares, Tensor normWeight, float epsilon, LinearWeight weight, Tensor output)
    {
        int count = RequireFold(weight, NormFoldRole.Consumer);
        var first = _foldParts[0]!;
        var second = count > 1 ? _foldParts[1] : null;
        var third = count > 2 ? _foldParts[2] : null;
        int k = first.InFeatures;
        RequireConsumerInputs(residual, sumSquares, normWeight, k);
        if (output.DType is not (DType.BF16 or DType.F32) || output.NumElements != weight.OutFeatures) throw new ArgumentException($"output must be [1, {weight.OutFeatures}] BF16 or F32");
        nint d0 = first.Data, p0 = first.Params, d1 = second?.Data ?? 0, p1 = second?.Params ?? 0, d2 = third?.Data ?? 0, p2 = third?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = second?.OutFeatures ?? 0, n2 = third?.OutFeatures ?? 0;
        int group = first.GroupSize, blockRows = first.BlockRows, scaleCols = first.ScaleColumns, outF32 = output.DType == DType.F32 ? 1 : 0;
        long ldOut = weight.OutFeatures;
        nint outPtr = output.Data, residualPtr = residual.Data, weightPtr = normWeight.Data, sums = sumSquares.Data;
        int prefetchLines = PrefetchLinesFor(wideKernel: true), numSums = NormFoldSumsLength(k);
        int tiles = (int)CudaQuantTiles.Tiles(n0, n1, n2);
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &blockRows, &scaleCols, &outPtr, &ldOut, &outF32,
            &prefetchLines, &residualPtr, &weightPtr, &sums, &numSums, &epsilon, &tiles };
        int warps = CudaQuantWide.WarpsFor(first.Family, k, Math.Max(n0, Math.Max(n1, n2)), QuantWideWarps);
        LaunchPersistent("gemv_f8_wide_norm", tiles, 32 * warps, k * 2, args);
        NumQuantWideLaunches++;
        NumNormFoldLaunches++;
    }

    public void NormedLinearSiluMul(Tensor residual, Tensor sumSquares, Tensor normWeight, float epsilon, LinearWeight gateUpWeight, Tensor gateUp, Tensor output)
    {
        RequireFold(gateUpWeight, NormFoldRole.ConsumerSiluMul);
        var (gate, up) = (_foldParts[0]!, _foldParts[1]!);
        int k = gate.InFeatures, n = gate.OutFeatures;
        RequireConsumerInputs(residual, sumSquares, normWeight, k);
        RequireVector(output, n, nameof(output));
        nint d0 = gate.Data, p0 = gate.Params, d1 = up.Data, p1 = up.Params, outPtr = output.Data;
        nint residualPtr = residual.Data, weightPtr = normWeight.Data, sums = sumSquares.Data;
        int group = gate.GroupSize, blockRows = gate.BlockRows, scaleCols = gate.ScaleColumns;
        int prefetchLines = PrefetchLinesFor(wideKernel: true), numSums = NormFoldSumsLength(k);
        int tiles = CudaQuantTiles.PaddedRows(n) / 16;
        void** args = stackalloc void*[] { &d0, &p0, &d1, &p1, &n, &k, &group, &blockRows, &scaleCols, &outPtr, &prefetchLines,
            &residualPtr, &weightPtr, &sums, &numSums, &epsilon, &tiles };
        // The unfused gate|up launch's warps a tile (RunQuantGemv), so each tile is summed in the same order.
        int warps = CudaQuantWide.WarpsFor(gate.Family, k, n, QuantWideWarps);
        LaunchPersistent("gemv_silu_f8_wide_norm", tiles, 64 * warps, k * 2, args);
        NumQuantSiluLaunches++;
        NumQuantWideLaunches++;
        NumNormFoldLaunches++;
    }

    private readonly Dictionary<(string, int, int), int> _foldResidentBlocks = [];

    // A persistent grid: as many blocks as fit the GPU at once (each normalizes its x once), at most one a tile.
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

    private int RequireFold(LinearWeight weight, NormFoldRole role)
    {
        if (!FoldsAddRmsNorm(weight, 1, role)) throw new InvalidOperationException($"this weight does not fold the norm as a {role} (FoldsAddRmsNorm)");
        return FoldParts(weight, role);
    }

    // The parts one launch takes, into _foldParts (reused: the engine thread alone launches): q|k|v (1-3 parts of one
    // layout, as RunQuantGemv groups them), gate|up (two parts that fit the fused SiLU kernel), or a producer's one
    // part; 0 when the weight does not run as one such launch.
    private readonly CudaQuantPart?[] _foldParts = new CudaQuantPart?[3];

    private int FoldParts(LinearWeight weight, NormFoldRole role)
    {
        var matrices = weight.QuantizedParts;
        if (matrices.Count is 0 or > 3 || (role == NormFoldRole.ConsumerSiluMul && matrices.Count != 2)) return 0;
        for (int i = 0; i < matrices.Count; i++)
        {
            if (matrices[i].Format == WeightFormat.Dense) return 0;
            var p = _foldParts[i] = PartOf(matrices[i]);
            var first = _foldParts[0]!;
            if (p.Permutation != 0 || p.Family != first.Family || p.GroupSize != first.GroupSize || p.BlockRows != first.BlockRows
                || p.ScaleColumns != first.ScaleColumns || p.InFeatures != first.InFeatures) return 0;
        }
        if (role == NormFoldRole.ConsumerSiluMul && (!FuseSiluMul || !QuantSiluFits(_foldParts[0]!, _foldParts[1]!))) return 0;
        return matrices.Count;
    }

    private void RequireConsumerInputs(Tensor residual, Tensor sumSquares, Tensor normWeight, int k)
    {
        RequireVector(residual, k, nameof(residual));
        RequireVector(normWeight, k, nameof(normWeight));
        RequireSums(sumSquares, k);
        if (residual.Data % 16 != 0 || normWeight.Data % 16 != 0) throw new ArgumentException("the residual and the norm weight must be 16-byte aligned");
    }

    private void RequireSums(Tensor sumSquares, int hidden)
    {
        Require(sumSquares, DType.F32, nameof(sumSquares));
        if (sumSquares.NumElements < NormFoldSumsLength(hidden)) throw new ArgumentException($"sumSquares holds {sumSquares.NumElements} floats, {NormFoldSumsLength(hidden)} needed");
    }
}
