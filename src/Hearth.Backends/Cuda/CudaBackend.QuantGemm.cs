using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The tensor-core GEMM over the tiled quantized layouts (gemm_quant.cu) for batches between the GEMV's 16 rows and
// the dequantize + cuBLASLt path, and W8A8 FP8 on sm_89+ (activations quantized per row and k-group to e4m3).
public sealed unsafe partial class CudaBackend
{
    /// <summary>
    /// Batches above this many rows leave the tensor-core GEMM for dequantize + cuBLASLt (g4, g8, W8A16 f8): on the
    /// H100 at Qwen3-14B's shapes the GEMM wins up to 64 rows and loses from 128 (docs/performance.md, session 5).
    /// </summary>
    public int QuantGemmMaxRows { get; set; } = 64;

    /// <summary>FP8 batches of at least this many rows run W8A8 when it is enabled and the device has FP8 tensor cores.</summary>
    public const int Fp8W8A8MinRows = 17;

    private readonly Dictionary<(QuantGemmPlanner.Kind Kind, int Columns), (nint Function, int SharedBytes, int BlocksPerSm)> _quantGemm = [];
    private nint _fp8ActQuant;
    // Scratch that lives as long as the backend (its memory goes with the device context when the backend is disposed).
    private CudaBuffer? _gemmPartials, _gemmCounters, _actQuant;

    /// <summary>Run batches of 17..<see cref="QuantGemmMaxRows"/> rows through the tensor-core GEMM (HEARTH_CUDA_QUANT_GEMM=0: off, GEMV in launches of 16).</summary>
    public bool UseQuantGemm { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_GEMM") != "0";

    /// <summary>Whether the device has FP8 tensor cores (sm_89+), which W8A8 needs.</summary>
    public bool SupportsFp8W8A8 => _device.ComputeMajor * 10 + _device.ComputeMinor >= 89;

    /// <summary>
    /// FP8 weights with batches of ≥ <see cref="Fp8W8A8MinRows"/> rows run W8A8 on sm_89+. Off unless
    /// HEARTH_CUDA_FP8_W8A8=1: this session's W8A8 kernel is slower than W8A16 at every batch measured on the H100
    /// (docs/performance.md, session 5); HEARTH_CUDA_FP8_W8A8=0 forces W8A16 whatever the default becomes.
    /// </summary>
    public bool UseFp8W8A8 { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FP8_W8A8") == "1";

    private const string QuantGemmModule = "gemm_quant.cu", Fp8ActivationModule = "fp8_act_quant.cu";

    private void LoadQuantGemm()
    {
        LoadModule(QuantGemmModule);
        LoadModule(Fp8ActivationModule);
        foreach (var kind in new[] { QuantGemmPlanner.Kind.G4, QuantGemmPlanner.Kind.G8, QuantGemmPlanner.Kind.F8, QuantGemmPlanner.Kind.G6, QuantGemmPlanner.Kind.K4 })
            foreach (int columns in new[] { 32, 64 })
                AddGemm(kind, columns, $"gemm_{kind.ToString().ToLowerInvariant()}_n{columns}");
        if (SupportsFp8W8A8) AddGemm(QuantGemmPlanner.Kind.W8A8, 64, "gemm_w8a8_n64");
        _fp8ActQuant = Function("fp8_act_quant");
    }

    private void AddGemm(QuantGemmPlanner.Kind kind, int columns, string name)
    {
        nint function = Function(name);
        int shared = QuantGemmPlanner.SharedBytes(kind, columns), blocks;
        CuDriver.Check(CuDriver.cuFuncSetAttribute(function, CuDriver.FuncAttributeMaxDynamicSharedBytes, shared), $"cuFuncSetAttribute({name})");
        CuDriver.Check(CuDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, function, 32 * QuantGemmPlanner.Warps, (nuint)shared),
            $"cuOccupancyMaxActiveBlocksPerMultiprocessor({name})");
        _quantGemm[(kind, columns)] = (function, shared, Math.Max(1, blocks));
    }

    private QuantGemmPlanner.Kind? QuantGemmKind(CudaQuantPart part, int rows)
    {
        if (!UseQuantGemm || rows <= QuantGemvMaxRows) return null;
        QuantGemmPlanner.Kind kind = part.Family switch
        {
            CudaQuantFamily.G4 => QuantGemmPlanner.Kind.G4,
            CudaQuantFamily.G8 => QuantGemmPlanner.Kind.G8,
            CudaQuantFamily.G6 => QuantGemmPlanner.Kind.G6,
            CudaQuantFamily.K4 => QuantGemmPlanner.Kind.K4,
            _ => UseFp8W8A8 && SupportsFp8W8A8 && rows >= Fp8W8A8MinRows
                && QuantGemmPlanner.Unsupported(QuantGemmPlanner.Kind.W8A8, part.InFeatures, part.GroupSize) is null
                ? QuantGemmPlanner.Kind.W8A8 : QuantGemmPlanner.Kind.F8,
        };
        if (kind != QuantGemmPlanner.Kind.W8A8 && rows > QuantGemmMaxRows) return null;
        return QuantGemmPlanner.Unsupported(kind, part.InFeatures, part.GroupSize) is null ? kind : null;
    }

    /// <summary>Whether <paramref name="part"/> at this batch runs gemm_quant.cu (the dispatch hook of LinearQuantized).</summary>
    private bool QuantGemmFits(CudaQuantPart part, int rows, nint x) => x % 16 == 0 && QuantGemmKind(part, rows) is not null;

    /// <summary>y[rows, ldOut] (from outSlice) = x · Wᵀ for up to three parts of one layout and group size, one launch (W8A8: two).</summary>
    private void RunQuantGemm(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        var kind = QuantGemmKind(first, rows) ?? throw new InvalidOperationException("RunQuantGemm called for a part it does not fit");
        int columns = QuantGemmPlanner.ColumnsPerBlock(kind, rows);
        var (function, shared, blocksPerSm) = _quantGemm[(kind, columns)];
        int k = first.InFeatures, group = first.GroupSize, blockRows = first.BlockRows, scaleCols = first.ScaleColumns;
        nint xScales = 0;
        if (kind == QuantGemmPlanner.Kind.W8A8) (x, xScales) = QuantizeActivations(x, rows, k, group);
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0;
        Span<int> outFeatures = [n0, n1, n2];
        int rowBlocks = QuantGemmPlanner.RowBlocks(outFeatures), chunks = (rows + columns - 1) / columns;
        int stagesPerUnit = kind == QuantGemmPlanner.Kind.W8A8 ? group / QuantGemmPlanner.StageK : 1;
        int units = k / QuantGemmPlanner.StageK / stagesPerUnit;
        int splits = QuantGemmPlanner.Splits(rowBlocks * chunks, units, stagesPerUnit, _device.NumMultiprocessors * blocksPerSm, (long)rows * (n0 + n1 + n2));
        EnsureGemmWorkspace();
        nint partials = _gemmPartials!.Data, counters = _gemmCounters!.Data;
        int m = rows, outF32 = outputF32 ? 1 : 0;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &blockRows, &scaleCols, &x, &xScales, &m,
            &outSlice, &ldOut, &outF32, &splits, &partials, &counters };
        LaunchZ(function, (uint)rowBlocks, (uint)splits, (uint)chunks, 32 * QuantGemmPlanner.Warps, (uint)shared, args);
    }

    private void EnsureGemmWorkspace()
    {
        if (_gemmPartials is not null) return;
        // Made before a graph is captured (the first steps of each batch size run eagerly), never during one.
        _gemmPartials = CudaBuffer.Allocate(_device, QuantGemmPlanner.PartialFloats * sizeof(float));
        _gemmCounters = CudaBuffer.Allocate(_device, QuantGemmPlanner.MaxCounters * sizeof(uint));   // zero-filled: no split pending
    }

    /// <summary>x as e4m3 [rows, k] with F32 scales [rows, k / group] (amax / 448 per row and group), in a reused scratch.</summary>
    private (nint Quantized, nint Scales) QuantizeActivations(nint x, int rows, int k, int group)
    {
        long quantizedBytes = ((long)rows * k + 255) / 256 * 256, bytes = quantizedBytes + (long)rows * (k / group) * sizeof(float);
        if (_actQuant is null || _actQuant.SizeBytes < bytes)
        {
            _device.Synchronize();
            _actQuant?.Dispose();
            _actQuant = CudaBuffer.Allocate(_device, bytes);
        }
        nint quantized = _actQuant.Data, scales = _actQuant.Data + (nint)quantizedBytes;
        long threads = (long)rows * (k / group) * 32;
        void** args = stackalloc void*[] { &x, &rows, &k, &group, &quantized, &scales };
        Launch(_fp8ActQuant, (uint)((threads + ElementwiseThreads - 1) / ElementwiseThreads), 1, ElementwiseThreads, 0, args);
        return (quantized, scales);
    }
}
