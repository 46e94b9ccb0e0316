using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Quantized weights: upload into the GPU layouts of CudaQuantLayout, the batch 1-16 GEMV (gemv_quant.cu), and for
// larger batches the dequantize-a-tile-to-bf16-then-cuBLASLt path. Parts are found from the QuantizedMatrix the
// upload returned by its data pointer.
public sealed unsafe partial class CudaBackend
{
    /// <summary>Rows one quantized GEMV launch serves (the MMA's N: two column tiles of 8).</summary>
    public const int QuantGemvMaxRows = 16;

    /// <summary>
    /// Batches up to this many rows run the quantized GEMV, in launches of <see cref="QuantGemvMaxRows"/> rows (each
    /// streams the weights once more, still far fewer bytes than dequantizing them); larger ones (prefill)
    /// dequantize tiles of rows to bf16 for cuBLASLt.
    /// </summary>
    public const int QuantGemvChunkedMaxRows = 64;

    private const uint QuantGemvWarps = 8;

    // gemv_*_stream's QS_WARPS and QS_LOADS (gemv_quant_stream.cu): warps a block, 16-byte loads per lane a ring stage.
    private const uint QuantStreamWarps = 4;
    private const int QuantStreamLoads = 4;

    /// <summary>Rows the streaming decode GEMV serves; 9-16 rows run the 16-column kernel.</summary>
    public const int QuantStreamMaxRows = 8;
    private const long DequantScratchBytes = 128L << 20;

    private readonly Dictionary<nint, CudaQuantPart> _quantParts = [];
    private readonly Dictionary<CudaQuantFamily, (nint Gemv, nint Dequant, nint Stream)> _quantKernels = [];
    private readonly Dictionary<CudaQuantFamily, nint> _quantWideKernels = [];
    private const string QuantWideModule = "gemv_quant_wide.cu";
    private nint _permuteColumns;
    private CudaBuffer? _dequantScratch, _permutedInput;
    private long _quantWeightBytes;

    /// <summary>Device bytes held by uploaded quantized matrices (in their GPU layouts).</summary>
    public long QuantizedWeightBytes => _quantWeightBytes;

    /// <summary>Device bytes of every uploaded weight, dense and quantized (not activations, scratch or KV cache).</summary>
    public long DeviceWeightBytes
    {
        get
        {
            long total = 0;
            foreach (var buffer in _weights) total += buffer.SizeBytes;
            return total;
        }
    }

    /// <summary>Run batches of 1-16 rows through the quantized GEMV (HEARTH_CUDA_QUANT_GEMV=0: always dequantize + cuBLASLt).</summary>
    public bool UseQuantGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_GEMV") != "0";

    /// <summary>Run batches of 1-8 rows through the streaming GEMV (HEARTH_CUDA_QUANT_STREAM=0: the 16-column kernel, for A/B timing).</summary>
    public bool UseQuantStreamGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_STREAM") != "0";

    /// <summary>
    /// Run f8 batches of 1-8 rows through the wide GEMV (gemv_quant_wide.cu) instead of the register stream
    /// (HEARTH_CUDA_QUANT_WIDE=0: off, for A/B timing). Needs <see cref="UseQuantStreamGemv"/> too.
    /// </summary>
    public bool UseQuantWideGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_WIDE") != "0";

    /// <summary>
    /// Send g4 (AWQ/GPTQ) batches to the wide GEMV too (HEARTH_CUDA_QUANT_WIDE_G4=1). Off by default: for int4 it was
    /// no faster than the register stream (83-88 against 83 µs a 14B layer, docs/performance.md, session 7).
    /// </summary>
    public bool UseQuantWideGemvG4 { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_WIDE_G4") == "1";

    // Whether the wide GEMV serves this family and shape.
    private bool WideTakes(CudaQuantFamily family, int k, int groupSize) =>
        UseQuantStreamGemv && UseQuantWideGemv && (family == CudaQuantFamily.F8 || family == CudaQuantFamily.G4 && UseQuantWideGemvG4)
        && CudaQuantWide.Fits(family, k, groupSize);

    /// <summary>Warps a tile for the wide GEMV (4, 8 or 16; null: CudaQuantWide's rule). HEARTH_CUDA_QUANT_WIDE_WARPS.</summary>
    public int? QuantWideWarps { get; set; } = CudaQuantWide.ParseWarps(Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_WIDE_WARPS"));

    /// <summary>
    /// Run the fp8 wide GEMV's f16 kernels (gemv_f8_wide_h, gemv_silu_f8_wide_h: cvt.rn.f16x2.e4m3x2 widening, f16 MMA)
    /// where the device has them (sm_89+; CudaQuantWide.UsesF16Kernels). HEARTH_CUDA_F8_NEW=0 returns to the bf16
    /// kernels, for A/B timing.
    /// </summary>
    public bool UseF8F16Kernels { get; set; } = CudaQuantWide.ParseF16Switch(Environment.GetEnvironmentVariable("HEARTH_CUDA_F8_NEW"));

    /// <summary>Whether this device has the fp8 f16 kernels' conversion (sm_89+), whatever the switch says.</summary>
    public bool HasF8F16Kernels => CudaQuantWide.UsesF16Kernels(_device.ComputeMajor, _device.ComputeMinor, switchOn: true);

    // The wide kernel of a family: fp8 takes the f16 kernel when the device and the switch allow.
    private nint WideKernelFor(CudaQuantFamily family) =>
        family == CudaQuantFamily.F8 && CudaQuantWide.UsesF16Kernels(_device.ComputeMajor, _device.ComputeMinor, UseF8F16Kernels)
            ? _quantWideF8F16 : _quantWideKernels[family];

    private nint _quantWideF8F16;

    /// <summary>Launches of the fp8 f16 kernels so far, fused gate|up included (checks that the new path ran).</summary>
    public long NumF8F16Launches { get; private set; }

    /// <summary>Launches of the wide GEMV so far, fused gate|up included (checks that the path ran).</summary>
    public long NumQuantWideLaunches { get; private set; }

    private void LoadQuantFunctions()
    {
        _quantKernels[CudaQuantFamily.G4] = (Function("gemv_g4"), Function("dequant_g4_bf16"), Function("gemv_g4_stream"));
        _quantKernels[CudaQuantFamily.G8] = (Function("gemv_g8"), Function("dequant_g8_bf16"), Function("gemv_g8_stream"));
        _quantKernels[CudaQuantFamily.F8] = (Function("gemv_f8"), Function("dequant_f8_bf16"), Function("gemv_f8_stream"));
        _permuteColumns = Function("permute_columns_bf16");
        // Compiled (or taken from the kernel cache) here, after the modules CudaBackend.cs prepares side by side.
        LoadModule(QuantWideModule);
        _quantWideKernels[CudaQuantFamily.G4] = Function("gemv_g4_wide");
        _quantWideKernels[CudaQuantFamily.F8] = Function("gemv_f8_wide");
        _quantWideF8F16 = Function("gemv_f8_wide_h");
        LoadQuantGemm();
        LoadG6Functions();
        _quantKernels[CudaQuantFamily.G6] = (0, _g6Dequant, 0);
        LoadQuantI4Functions();
        AllocateSplitWorkspace();
    }

    private void Register(CudaQuantPart part)
    {
        _quantParts[part.Data] = part;
        _quantWeightBytes += part.SizeBytes;
    }

    private CudaQuantPart PartOf(QuantizedMatrix matrix) =>
        _quantParts.TryGetValue(matrix.Data.Data, out var part) ? part
            : throw new ArgumentException($"{matrix} was not uploaded by this CUDA backend's UploadQuantized");

    /// <summary>output[t] = dequantized row tokenIds[t] of a quantized table (GGUF token_embd). output [tokens, hidden] BF16.</summary>
    public void QuantizedEmbedding(QuantizedMatrix table, Tensor tokenIds, Tensor output)
    {
        Require(tokenIds, DType.I32, nameof(tokenIds));
        Require(output, DType.BF16, nameof(output));
        int tokens = (int)tokenIds.NumElements;
        if (output.NumElements != (long)tokens * table.InFeatures) throw new ArgumentException($"output {output.Shape} is not [{tokens}, {table.InFeatures}]");
        if (table.Format == WeightFormat.Dense)
        {
            Embedding(table.Data, tokenIds, output);
            return;
        }
        Dequantize(PartOf(table), tokenIds.Data, 0, tokens, output.Data, table.InFeatures);
    }

    private void LinearQuantized(Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        int k = weight.InFeatures;
        long ldOut = weight.OutFeatures;
        bool outputF32 = output.DType == DType.F32;
        int elementBytes = outputF32 ? 4 : 2;
        int column = 0;
        if (TryMixedKQuantGemv(input, weight, output, rows)) return;   // GGUF Q4_K|Q6_K mixes (CudaBackend.KQuantMixed.cs)
        var matrices = weight.QuantizedParts;
        bool gemv = UseQuantGemv && rows <= QuantGemvChunkedMaxRows && input.Data % 16 == 0;
        Span<CudaQuantPart?> group = [null, null, null];
        for (int i = 0; i < matrices.Count;)
        {
            nint outSlice = output.Data + (nint)column * elementBytes;
            if (matrices[i].Format == WeightFormat.Dense)
            {
                _gemm.Run(matrices[i].Data.Data, input.Data, outSlice, matrices[i].OutFeatures, rows, k, ldOut, outputF32);
                column += matrices[i].OutFeatures;
                i++;
                continue;
            }
            var first = PartOf(matrices[i]);
            bool tensorCores = QuantGemmFits(first, rows, input.Data);   // 17+ rows: gemm_quant.cu (CudaBackend.QuantGemm.cs)
            group.Clear();
            group[0] = first;
            int count = 1;
            // q|k|v and gate|up parts of one layout share a launch (their output columns are adjacent).
            while ((gemv || tensorCores) && first.Permutation == 0 && count < 3 && i + count < matrices.Count && matrices[i + count].Format != WeightFormat.Dense
                && PartOf(matrices[i + count]) is var next && next.Family == first.Family && next.GroupSize == first.GroupSize
                && next.BlockRows == first.BlockRows && next.ScaleColumns == first.ScaleColumns && next.Permutation == 0)
                group[count++] = next;
            if (tensorCores) RunQuantGemm(group, PermutedIfNeeded(first, input.Data, rows), rows, outSlice, ldOut, outputF32);
            else if (gemv && first.Family == CudaQuantFamily.G6) RunG6Gemv(group, input.Data, rows, outSlice, ldOut, outputF32);   // CudaBackend.Q6Compact.cs
            else if (gemv && first.Family == CudaQuantFamily.K4) RunK4Gemv(group, input.Data, rows, outSlice, ldOut, outputF32);   // CudaBackend.Q4Compact.cs
            else if (gemv) RunQuantGemv(group, PermutedIfNeeded(first, input.Data, rows), rows, outSlice, ldOut, outputF32);
            else RunDequantGemm(first, PermutedIfNeeded(first, input.Data, rows), rows, outSlice, ldOut, outputF32);
            for (int j = 0; j < count; j++) column += group[j]!.OutFeatures;
            i += count;
        }
    }

    private nint PermutedIfNeeded(CudaQuantPart part, nint x, int rows) =>
        part.Permutation != 0 ? PermuteInput(x, part.Permutation, rows, part.InFeatures) : x;

    private void RunQuantGemv(ReadOnlySpan<CudaQuantPart?> parts, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        var first = parts[0]!;
        nint d0 = first.Data, p0 = first.Params, d1 = parts[1]?.Data ?? 0, p1 = parts[1]?.Params ?? 0, d2 = parts[2]?.Data ?? 0, p2 = parts[2]?.Params ?? 0;
        int n0 = first.OutFeatures, n1 = parts[1]?.OutFeatures ?? 0, n2 = parts[2]?.OutFeatures ?? 0;
        int k = first.InFeatures, group = first.GroupSize, blockRows = first.BlockRows, scaleCols = first.ScaleColumns;
        int outF32 = outputF32 ? 1 : 0;
        long tiles = CudaQuantTiles.Tiles(n0, n1, n2);
        int chunkRows = 0, splits = 1, prefetchLines = 0;
        nint chunkX = 0, chunkOut = 0, partials = SplitPartials, counters = SplitCounters;
        void** args = stackalloc void*[] { &d0, &p0, &n0, &d1, &p1, &n1, &d2, &p2, &n2, &k, &group, &blockRows, &scaleCols, &chunkX, &chunkRows, &chunkOut, &ldOut, &outF32,
            &splits, &partials, &counters, &prefetchLines };
        var kernels = _quantKernels[first.Family];
        bool stream = UseQuantStreamGemv && StreamFits(first.Family, k, group);
        int wideWarps = WideTakes(first.Family, k, group)
            ? CudaQuantWide.WarpsFor(first.Family, k, Math.Max(n0, Math.Max(n1, n2)), QuantWideWarps) : 0;
        // A gate|up pair stays unsplit: the fused gate|up + SiLU kernels (which do not split) must sum its tiles alike.
        bool mayFuse = parts[1] is { } second && parts[2] is null && QuantSiluFits(first, second);
        for (int start = 0; start < rows; start += QuantGemvMaxRows)
        {
            chunkRows = Math.Min(QuantGemvMaxRows, rows - start);
            chunkX = x + (nint)((long)start * k * 2);
            chunkOut = outSlice + (nint)(start * ldOut * (outputF32 ? 4 : 2));
            if (wideWarps > 0 && chunkRows <= QuantStreamMaxRows)
            {
                splits = mayFuse ? 1 : QuantSplitsFor(tiles, k, wideWarps);
                prefetchLines = PrefetchLinesFor(wideKernel: true);
                nint wideKernel = WideKernelFor(first.Family);
                Launch(wideKernel, (uint)(tiles * splits), 1, 32 * (uint)wideWarps, 0, args);
                if (wideKernel == _quantWideF8F16) NumF8F16Launches++;
                NumQuantWideLaunches++;
            }
            else if (stream && chunkRows <= QuantStreamMaxRows)
            {
                splits = mayFuse ? 1 : QuantSplitsFor(tiles, k, (int)QuantStreamWarps);
                // A gate|up pair takes the i4 kernel whenever its fused launch would (TryQuantStreamSilu): the same tile sums.
                if (splits == 1 && QuantI4Plan(first, tiles, chunkRows, gateUp: mayFuse, fusedSilu: false) is { Taken: true } i4)
                {
                    LaunchQuantI4(i4, parts, chunkX, chunkRows, chunkOut, ldOut, outputF32);
                    continue;
                }
                prefetchLines = PrefetchLinesFor(wideKernel: false);
                Launch(StreamKernelFor(first, tiles, kernels.Stream), (uint)(tiles * splits), 1, 32 * QuantStreamWarps, 0, args);
            }
            else Launch(kernels.Gemv, (uint)tiles, 1, 32 * QuantGemvWarps, 0, args);
        }
    }

    /// <summary>
    /// Whether the streaming GEMV takes this shape: k in whole ring stages, and groups of 2^i k-tiles that either
    /// hold whole stages or fill one stage in 2, 4 or 8 (a stage copies at most 8 groups' params).
    /// </summary>
    internal static bool StreamFits(CudaQuantFamily family, int k, int groupSize)
    {
        int stageTiles = StreamStageTiles(family), tilesPerGroup = groupSize / CudaQuantTiles.KTile;
        if (k % (stageTiles * CudaQuantTiles.KTile) != 0 || tilesPerGroup <= 0 || (tilesPerGroup & (tilesPerGroup - 1)) != 0) return false;
        return tilesPerGroup % stageTiles == 0 || stageTiles == 2 * tilesPerGroup || stageTiles == 4 * tilesPerGroup || stageTiles == 8 * tilesPerGroup;
    }

    /// <summary>k-tiles of 16 in one stage of the streaming GEMV (its unit of a warp's run of k).</summary>
    internal static int StreamStageTiles(CudaQuantFamily family) => CudaQuantTiles.TilesPerLoad(family) * QuantStreamLoads;

    private void RunDequantGemm(CudaQuantPart part, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        int k = part.InFeatures;
        // Tiles of whole rows dequantized into one reusable scratch, each multiplied by cuBLASLt into its columns.
        _dequantScratch ??= CudaBuffer.Allocate(_device, DequantScratchBytes);
        int tileRows = (int)Math.Min(part.OutFeatures, DequantScratchBytes / (2L * k) / 64 * 64);
        if (tileRows <= 0) throw new HearthException($"a {part.Format} row of {k} inputs does not fit the {DequantScratchBytes >> 20} MiB dequantization scratch");
        int elementBytes = outputF32 ? 4 : 2;
        for (int start = 0; start < part.OutFeatures; start += tileRows)
        {
            int count = Math.Min(tileRows, part.OutFeatures - start);
            Dequantize(part, 0, start, count, _dequantScratch.Data, k);
            _gemm.Run(_dequantScratch.Data, x, outSlice + (nint)start * elementBytes, count, rows, k, ldOut, outputF32);
        }
    }

    /// <summary>Rows of <paramref name="part"/> (rowIds[i], or rowStart + i) as BF16 into out [rows, ldOut].</summary>
    private void Dequantize(CudaQuantPart part, nint rowIds, int rowStart, int rows, nint output, long ldOut)
    {
        nint data = part.Data, parameters = part.Params;
        int k = part.InFeatures, group = part.GroupSize, blockRows = part.BlockRows, scaleCols = part.ScaleColumns;
        long chunks = (long)rows * (k / CudaQuantTiles.KTile);
        void** args = stackalloc void*[] { &data, &parameters, &k, &group, &blockRows, &scaleCols, &rowIds, &rowStart, &rows, &output, &ldOut };
        Launch(_quantKernels[part.Family].Dequant, (uint)((chunks + ElementwiseThreads - 1) / ElementwiseThreads), 1, ElementwiseThreads, 0, args);
    }

    private nint PermuteInput(nint x, nint permutation, int rows, int k)
    {
        long bytes = (long)rows * k * 2;
        if (_permutedInput is null || _permutedInput.SizeBytes < bytes)
        {
            // Grown before a graph is captured (the first steps of each batch size run eagerly), never during one.
            _device.Synchronize();
            _permutedInput?.Dispose();
            _permutedInput = CudaBuffer.Allocate(_device, bytes);
        }
        nint output = _permutedInput.Data;
        long total = (long)rows * k;
        void** args = stackalloc void*[] { &x, &permutation, &k, &total, &output };
        Launch(_permuteColumns, GridFor(total), 1, ElementwiseThreads, 0, args);
        return output;
    }

    private void DisposeQuant()
    {
        _dequantScratch?.Dispose();
        _dequantScratch = null;
        _permutedInput?.Dispose();
        _permutedInput = null;
        DisposeSplitWorkspace();
        _quantParts.Clear();
        FreeHostResident();
    }
}
