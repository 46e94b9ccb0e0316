using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Decode attention with the split combine fused into the split kernel (decode_fused.cu), over a bf16 or a
// float8_e4m3fn cache; the older split + combine pair (decode_attention.cu) stays as the A/B reference.
public sealed unsafe partial class CudaBackend
{
    private const int FusedMaxHeadDim = 256;
    private const int FusedWarps = (int)DecodeThreads / 32;
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeFused = [];
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeFusedUnroll4 = [];
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeFusedTranspose = [];
    private readonly Dictionary<(int HeadDim, bool Fp8, int Group), nint> _decodeFusedGroup = [];
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeMma = [];
    private readonly Dictionary<(int HeadDim, bool Fp8), nint> _decodeMmaFourBlocks = [];
    private readonly Dictionary<(int HeadDim, bool Fp8), (nint Function, int BlocksPerSm, int MaxActiveClusters)> _decodeMmaCluster = [];
    private readonly Dictionary<(int HeadDim, int Stages), (nint Function, int SharedBytes, int BlocksPerSm)> _decodeMmaPipe = [];
    private static readonly int[] CompiledGroups = [1, 2, 4, 5, 8];

    /// <summary>The most split blocks per SM <see cref="DecodeBlocksPerMultiprocessor"/> may ask for: what the partials are sized for.</summary>
    private const int MaxDecodeBlocksPerMultiprocessor = 16;
    private CudaBuffer? _fusedWorkspace;
    private long _fusedPartialFloats, _fusedPartialRows;

    /// <summary>
    /// Decode attention by the fused split kernel (on by default; HEARTH_CUDA_FUSED_DECODE=0 runs the older split
    /// kernel with a separate combine launch, bf16 caches only).
    /// </summary>
    public bool UseFusedDecode { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSED_DECODE") != "0";

    /// <summary>Keys loaded at once per warp in the fused decode kernel at head dims 64/128: 8, or 4 (fewer registers; HEARTH_CUDA_DECODE_UNROLL=4).</summary>
    public int DecodeUnroll { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_UNROLL") == "4" ? 4 : 8;

    /// <summary>
    /// The fused decode kernel reduces a round's eight dot products together (head dims 64/128): on by default, it
    /// measured 14.2 / 43.6 / 219 us per layer at contexts 512 / 4K / 32K (batch 1, 14B shape, H200) against 16.5 /
    /// 52.7 / 289 us for a warp reduction per key (HEARTH_CUDA_DECODE_TRANSPOSE=0).
    /// </summary>
    public bool DecodeTransposeReduce { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_TRANSPOSE") != "0";

    /// <summary>
    /// The transposed fused decode kernel with the GQA group fixed at compile time (groups 1, 2, 4, 5, 8 at head dims
    /// 64/128): on by default; HEARTH_CUDA_DECODE_GROUP=0 uses the runtime-group kernel for every group.
    /// </summary>
    public bool DecodeGroupKernels { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_GROUP") != "0";

    /// <summary>
    /// Decode batches of at least this many sequences run the tensor-core kernel (decode_mma.cu, head dims 64/128);
    /// default <see cref="DecodeKernelPlan.DefaultMinSeqs"/>, HEARTH_CUDA_DECODE_MMA_MIN_SEQS overrides it (0: off).
    /// </summary>
    public int TensorCoreDecodeMinSeqs { get; set; } = DecodeKernelPlan.ParseMinSeqs(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_MMA_MIN_SEQS"));

    /// <summary>
    /// The tensor-core decode kernel for float8_e4m3fn caches too (off by default, HEARTH_CUDA_DECODE_MMA_FP8=1: it
    /// passes parity but its speed was not measured against the CUDA-core fp8 kernel yet).
    /// </summary>
    public bool TensorCoreDecodeFp8 { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_MMA_FP8") == "1";

    /// <summary>
    /// The bf16 tensor-core decode kernel capped at 128 registers (four blocks an SM; on by default,
    /// HEARTH_CUDA_DECODE_MMA_O4=0 runs the uncapped one, three blocks an SM at head dim 128). The cap spills 140
    /// bytes at head dim 128 and is still faster: 37.0 against 41.4 us a layer at batch 32 x 512 on the H100.
    /// </summary>
    public bool TensorCoreDecodeFourBlocks { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_MMA_O4") != "0";

    /// <summary>
    /// The session-10 tensor-core decode launch (<see cref="DecodeClusterPlan"/>) for batches up to
    /// <see cref="DecodeClusterMaxSeqs"/>: first-round K/V loads before the PDL wait and, on sm_90+, clusters of this
    /// many split blocks combining in distributed shared memory wherever its one-wave split plan has a whole cluster
    /// (batches 1-6 at the 14B shape on an H100), else plain launches. Default 8; HEARTH_CUDA_DECODE_CLUSTER=0 runs the
    /// session-5 kernels, 1 the new kernel without clusters (faster at long contexts: docs/performance/cuda.md, session 10).
    /// </summary>
    public int DecodeClusterSetting { get; set; } = DecodeClusterPlan.ParseSetting(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_CLUSTER"));

    /// <summary>
    /// Caps the clustered launch's splits at the clusters the driver says can be resident at once
    /// (<see cref="DecodeClusterPlan.OneWaveSplits"/>); HEARTH_CUDA_DECODE_CLUSTER_ONE_WAVE=0 turns the cap off for A/B runs.
    /// </summary>
    public bool DecodeClusterOneWave { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_CLUSTER_ONE_WAVE") != "0";

    /// <summary>
    /// The most sequences a decode batch may have and take the session-10 kernel (default
    /// <see cref="DecodeClusterPlan.DefaultMaxSeqs"/>, HEARTH_CUDA_DECODE_CLUSTER_MAX_SEQS); larger ones take the session-5 kernels.
    /// </summary>
    public int DecodeClusterMaxSeqs { get; set; } = DecodeClusterPlan.ParseMaxSeqs(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_CLUSTER_MAX_SEQS"));

    /// <summary>
    /// Ring depth of the pipelined bf16 tensor-core decode kernel (cp.async into shared memory, the next rounds' loads
    /// in flight during this round's MMAs): 2 by default, 3, or 0 for the unpipelined kernel (HEARTH_CUDA_DECODE_PIPE).
    /// fp8 caches always take the unpipelined kernels.
    /// </summary>
    public int DecodePipelineStages { get; set; } = DecodeKernelPlan.ParsePipelineStages(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_PIPE"));

    /// <summary>
    /// Split blocks per SM the pipelined kernel's split plan aims for; 0 (default) takes the kernel's occupancy
    /// (HEARTH_CUDA_DECODE_PIPE_BLOCKS_PER_SM overrides it).
    /// </summary>
    public int PipelinedDecodeBlocksPerMultiprocessor { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_PIPE_BLOCKS_PER_SM"), out int pipePerSm) ? pipePerSm : 0;

    /// <summary>
    /// The pipelined kernel for every batch size instead of only where <see cref="DecodeKernelPlan.UsePipeline"/>
    /// measured it faster (off by default; HEARTH_CUDA_DECODE_PIPE_ANY=1; the parity checks turn it on).
    /// </summary>
    public bool PipelinedDecodeAnyBatch { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_PIPE_ANY") == "1";

    /// <summary>
    /// Split blocks aimed for per SM when the fused decode kernel splits the keys (<see cref="DecodeSplitPlan.Splits"/>);
    /// 1 to 16, default <see cref="DecodeSplitPlan.BlocksPerMultiprocessor"/>, HEARTH_CUDA_DECODE_BLOCKS_PER_SM overrides it.
    /// </summary>
    public int DecodeBlocksPerMultiprocessor
    {
        get => _decodeBlocksPerSm;
        set => _decodeBlocksPerSm = Math.Clamp(value, 1, MaxDecodeBlocksPerMultiprocessor);
    }

    private int _decodeBlocksPerSm = int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_BLOCKS_PER_SM"), out int perSm)
        ? Math.Clamp(perSm, 1, MaxDecodeBlocksPerMultiprocessor) : DecodeSplitPlan.BlocksPerMultiprocessor;

    /// <summary>
    /// The fewest keys a decode split takes (default <see cref="DecodeSplitPlan.MinKeysPerSplit"/>; HEARTH_CUDA_DECODE_MIN_KEYS
    /// overrides it, a multiple of 16 from 16 to 1024): more keys a split means fewer splits to combine at short contexts.
    /// </summary>
    public int DecodeMinKeysPerSplit { get; set; } = DecodeSplitPlan.ParseMinKeys(Environment.GetEnvironmentVariable("HEARTH_CUDA_DECODE_MIN_KEYS"));

    private void LoadDecodeFunctions()
    {
        foreach (int dim in new[] { 64, 128 })
        {
            _decodeFusedUnroll4[(dim, false)] = Function($"decode_attention_fused_u4_d{dim}");
            _decodeFusedUnroll4[(dim, true)] = Function($"decode_attention_fused_u4_fp8_d{dim}");
            _decodeFusedTranspose[(dim, false)] = Function($"decode_attention_fused_tr_d{dim}");
            _decodeFusedTranspose[(dim, true)] = Function($"decode_attention_fused_tr_fp8_d{dim}");
            foreach (int group in CompiledGroups)
            {
                _decodeFusedGroup[(dim, false, group)] = Function($"decode_attention_fused_tr_g{group}_d{dim}");
                _decodeFusedGroup[(dim, true, group)] = Function($"decode_attention_fused_tr_fp8_g{group}_d{dim}");
            }
        }
        foreach (int dim in new[] { 64, 128 })
        {
            _decodeMma[(dim, false)] = Function($"decode_attention_mma_d{dim}");
            _decodeMma[(dim, true)] = Function($"decode_attention_mma_fp8_d{dim}");
            _decodeMmaFourBlocks[(dim, false)] = Function($"decode_attention_mma_o4_d{dim}");
            AddClusterDecode(dim, false);
            AddClusterDecode(dim, true);
            foreach (int stages in new[] { 2, 3 })
                AddPipelinedDecode(dim, stages);
        }
        foreach (int dim in new[] { 32, 64, 128, 256 })
        {
            _decodeFused[(dim, false)] = Function($"decode_attention_fused_d{dim}");
            _decodeFused[(dim, true)] = Function($"decode_attention_fused_fp8_d{dim}");
        }
        // Partials of at most MaxSplitBlocks blocks, each for a group of up to 8 heads of up to 256 dims, then
        // one max and one denominator per (block, head), then one done-counter per (sequence, kv head), zeroed
        // here and reset by the kernel's last block.
        long blocks = DecodeSplitPlan.MaxSplitBlocks(_device.NumMultiprocessors, MaxDecodeBlocksPerMultiprocessor);
        _fusedPartialRows = blocks * DecodeMaxGroup;
        _fusedPartialFloats = _fusedPartialRows * FusedMaxHeadDim;
        _fusedWorkspace = CudaBuffer.Allocate(_device, (_fusedPartialFloats + 2 * _fusedPartialRows + blocks) * sizeof(float));
    }

    private void AddPipelinedDecode(int headDim, int stages)
    {
        string name = $"decode_attention_mma_pipe{stages}_d{headDim}";
        nint function = Function(name);
        int shared = DecodeKernelPlan.PipelineSharedBytes(headDim, stages, FusedWarps), blocks;
        CuDriver.Check(CuDriver.cuFuncSetAttribute(function, CuDriver.FuncAttributeMaxDynamicSharedBytes, shared), $"cuFuncSetAttribute({name})");
        CuDriver.Check(CuDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, function, (int)DecodeThreads, (nuint)shared),
            $"cuOccupancyMaxActiveBlocksPerMultiprocessor({name})");
        _decodeMmaPipe[(headDim, stages)] = (function, shared, Math.Max(1, blocks));
    }

    private void AddClusterDecode(int headDim, bool fp8)
    {
        string name = $"decode_attention_mma_cl{(fp8 ? "_fp8" : "")}_d{headDim}";
        nint function = Function(name);
        int blocks, shared = FusedWarps * DecodeMaxGroup * headDim * sizeof(float);
        CuDriver.Check(CuDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, function, (int)DecodeThreads, (nuint)shared),
            $"cuOccupancyMaxActiveBlocksPerMultiprocessor({name})");
        _decodeMmaCluster[(headDim, fp8)] = (function, Math.Max(1, blocks), MaxActiveClusters(function, (uint)shared, DecodeClusterPlan.MaxClusterSize));
    }

    /// <summary>The driver's count of co-resident clusters of <paramref name="clusterZ"/> blocks for the kernel; 0 without clusters (sm_80) or on failure.</summary>
    private int MaxActiveClusters(nint function, uint sharedBytes, int clusterZ)
    {
        if (_device.ComputeMajor < 9) return 0;
        var attribute = CuDriver.ClusterDimension(clusterZ);
        var config = new CuDriver.LaunchConfig
        {
            GridDimX = 1, GridDimY = 1, GridDimZ = (uint)clusterZ, BlockDimX = DecodeThreads, BlockDimY = 1, BlockDimZ = 1,
            SharedMemBytes = sharedBytes, Stream = _device.Stream, Attributes = &attribute, NumAttributes = 1,
        };
        int clusters;
        return CuDriver.cuOccupancyMaxActiveClusters(&clusters, function, &config) == 0 ? Math.Max(0, clusters) : 0;
    }

    /// <summary>Co-resident clusters of eight the clustered decode kernel fits (0 without clusters), for the parity runner's report.</summary>
    public int ClusterDecodeMaxActiveClusters(int headDim, bool fp8) =>
        _decodeMmaCluster.TryGetValue((headDim, fp8), out var clustered) ? clustered.MaxActiveClusters : 0;

    /// <summary>Blocks per SM the pipelined decode kernel fits (its occupancy), for the parity runner's report; 0 when not compiled.</summary>
    public int PipelinedDecodeOccupancy(int headDim, int stages) =>
        _decodeMmaPipe.TryGetValue((headDim, stages), out var pipe) ? pipe.BlocksPerSm : 0;

    private bool TryFusedDecode(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output, int maxBlocksPerSeq)
    {
        int heads = query.Shape[1], headDim = query.Shape[2], kvHeads = cache.NumKvHeads, blockSize = cache.BlockSize;
        int numSeqs = metadata.NumSeqs, group = heads / kvHeads;
        bool fp8 = cache.Key.DType == DType.F8E4M3;
        if (!UseFusedDecode && !fp8) return false;
        if (metadata.MaxQueryLen != 1 || metadata.NumTokens != numSeqs || group > DecodeMaxGroup) return false;
        var variant = DecodeTransposeReduce ? _decodeFusedTranspose : DecodeUnroll == 4 ? _decodeFusedUnroll4 : _decodeFused;
        if (!variant.TryGetValue((headDim, fp8), out nint kernel) && !_decodeFused.TryGetValue((headDim, fp8), out kernel)) return false;
        if (DecodeTransposeReduce && DecodeGroupKernels && _decodeFusedGroup.TryGetValue((headDim, fp8, group), out nint grouped)) kernel = grouped;
        // The batch size alone picks the kernel, so a graph captured for a batch bucket keeps its choice.
        if (DecodeKernelPlan.UseTensorCores(numSeqs, headDim, fp8, TensorCoreDecodeMinSeqs, TensorCoreDecodeFp8) && _decodeMma.TryGetValue((headDim, fp8), out nint mma))
            kernel = TensorCoreDecodeFourBlocks && _decodeMmaFourBlocks.TryGetValue((headDim, fp8), out nint capped) ? capped : mma;
        int perSm = _decodeBlocksPerSm;
        uint shared = (uint)(FusedWarps * group * headDim * sizeof(float));
        bool pipelined = false;
        if (!fp8 && DecodeKernelPlan.UseTensorCores(numSeqs, headDim, fp8, TensorCoreDecodeMinSeqs, TensorCoreDecodeFp8)
            && _decodeMmaPipe.TryGetValue((headDim, DecodePipelineStages), out var pipe)
            && (PipelinedDecodeAnyBatch || DecodeKernelPlan.UsePipeline(numSeqs * kvHeads, _device.NumMultiprocessors, pipe.BlocksPerSm)))
        {
            kernel = pipe.Function;
            shared = Math.Max(shared, (uint)pipe.SharedBytes);
            perSm = DecodeKernelPlan.PipelineBlocksPerMultiprocessor(PipelinedDecodeBlocksPerMultiprocessor, pipe.BlocksPerSm, MaxDecodeBlocksPerMultiprocessor);
            pipelined = true;
        }
        int splits = DecodeSplitPlan.Splits(numSeqs, kvHeads, maxBlocksPerSeq, blockSize, _device.NumMultiprocessors, perSm);
        int minKeys = DecodeMinKeysPerSplit;
        int cluster = 1;
        if (!pipelined && numSeqs <= DecodeClusterMaxSeqs && DecodeKernelPlan.UseTensorCores(numSeqs, headDim, fp8, TensorCoreDecodeMinSeqs, TensorCoreDecodeFp8)
            && _decodeMmaCluster.TryGetValue((headDim, fp8), out var clustered))
        {
            // Its own plan: one wave at its occupancy (uncapped registers: three blocks an SM at dim 128).
            int clusterSplits = DecodeSplitPlan.Splits(numSeqs, kvHeads, maxBlocksPerSeq, blockSize, _device.NumMultiprocessors,
                Math.Min(clustered.BlocksPerSm, MaxDecodeBlocksPerMultiprocessor));
            int size = DecodeClusterPlan.ClusterSize(DecodeClusterSetting, clusterSplits, _device.ComputeMajor >= 9);
            if (size == DecodeClusterPlan.MaxClusterSize && DecodeClusterOneWave)
                clusterSplits = DecodeClusterPlan.OneWaveSplits(clusterSplits, size, (long)numSeqs * kvHeads, clustered.MaxActiveClusters);
            if (DecodeClusterPlan.UseKernel(DecodeClusterSetting))
            {
                kernel = clustered.Function;
                cluster = size;
                splits = DecodeClusterPlan.Splits(clusterSplits, size);
                minKeys = DecodeClusterPlan.MinKeysPerSplit;
            }
        }
        nint qPtr = query.Data, keyCachePtr = cache.Key.Data, valueCachePtr = cache.Value.Data, outPtr = output.Data;
        nint seqLensPtr = metadata.SeqLens.Data, tablesPtr = metadata.BlockTables.Data;
        nint partialOut = _fusedWorkspace!.Data;
        nint partialMax = partialOut + (nint)(_fusedPartialFloats * sizeof(float));
        nint partialSum = partialMax + (nint)(_fusedPartialRows * sizeof(float));
        nint counters = partialSum + (nint)(_fusedPartialRows * sizeof(float));
        void** args = stackalloc void*[] { &qPtr, &keyCachePtr, &valueCachePtr, &seqLensPtr, &tablesPtr, &maxBlocksPerSeq, &heads, &kvHeads,
            &blockSize, &scale, &splits, &minKeys, &outPtr, &partialOut, &partialMax, &partialSum, &counters };
        if (cluster > 1) LaunchCluster(kernel, (uint)numSeqs, (uint)kvHeads, (uint)splits, DecodeThreads, shared, args, (uint)cluster);
        else LaunchZ(kernel, (uint)numSeqs, (uint)kvHeads, (uint)splits, DecodeThreads, shared, args);
        return true;
    }

    /// <summary>The KV cache dtypes the CUDA ops read and write: bf16, or float8_e4m3fn with a per-tensor scale of 1.0.</summary>
    private static void RequireKvCache(KvCacheLayer cache)
    {
        if (cache.Key.DType is not (DType.BF16 or DType.F8E4M3) || cache.Value.DType != cache.Key.DType)
            throw new ArgumentException($"the CUDA KV cache must be BF16 or F8E4M3, got {cache.Key.DType}/{cache.Value.DType}");
    }
}
