using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// The speed paths: the batch 1-4 GEMV, split-K decode attention, tensor-core prefill attention, and
// stream capture into CUDA graphs. Each falls back to the general op when its preconditions do not hold.
public sealed unsafe partial class CudaBackend
{
    private const int GemvMaxRows = 4;
    private const uint GemvWarps = 8;
    private const int GemvSplitRowsBelow = 16384;
    // Below this k a row is short enough for one warp; splitting it measured slower (qkv and o at k = 5120 on the 14B shape).
    private const int GemvSplitMinK = 8192;
    private const uint DecodeThreads = 128;
    private const int DecodeTile = 64;
    private const int DecodeMaxGroup = 8;
    private const int DecodeMaxSplits = 32;
    private const int FlashQueryTile = 64;

    private nint _gemv, _decodeCombine, _flash64, _flash128, _flashLdm64, _flashLdm128;
    private nint _flashFp8_64, _flashFp8_128, _flashLdmFp8_64, _flashLdmFp8_128;
    private readonly Dictionary<int, nint> _decodeSplit = [];
    private CudaBuffer? _decodeWorkspace;
    private long _decodeWorkspaceFloats;

    /// <summary>Use the custom GEMV for 1-4 rows instead of cuBLASLt (on by default; HEARTH_CUDA_GEMV=0 turns it off).</summary>
    public bool UseGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_GEMV") != "0";

    /// <summary>Let four warps share a row in the GEMV of matrices with few rows (HEARTH_CUDA_GEMV_SPLITK=0 turns it off).</summary>
    public bool GemvSplitK { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_GEMV_SPLITK") != "0";

    /// <summary>Use split-K decode and tensor-core prefill attention instead of the general kernel (HEARTH_CUDA_FAST_ATTENTION=0 turns it off).</summary>
    public bool UseFastAttention { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FAST_ATTENTION") != "0";

    /// <summary>
    /// Prefill attention reads its shared-memory operands with ldmatrix instead of scalar loads: 459 vs 489 us
    /// for one 2048-token prompt at Qwen3-14B's shape on the H200 (HEARTH_CUDA_FLASH_LDMATRIX=0: scalar loads).
    /// </summary>
    public bool UseLdmatrixFlash { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FLASH_LDMATRIX") != "0";

    internal bool IsDisposed => _disposed;

    internal void MakeCurrent() => _device.MakeCurrent();

    internal nint Stream => _device.Stream;

    /// <summary><paramref name="count"/> timing events on this backend's stream (for profiling; the caller disposes them).</summary>
    public CudaEventTimer CreateEventTimer(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaEventTimer(this, count);
    }

    private void LoadFastFunctions()
    {
        _gemv = Function("gemv_bf16");
        foreach (int dim in new[] { 32, 64, 128, 256 }) _decodeSplit[dim] = Function($"decode_attention_split_d{dim}");
        _decodeCombine = Function("decode_attention_combine");
        _flash64 = Function("flash_prefill_d64");
        _flash128 = Function("flash_prefill_d128");
        _flashLdm64 = Function("flash_prefill_ldm_d64");
        _flashLdm128 = Function("flash_prefill_ldm_d128");
        _flashFp8_64 = Function("flash_prefill_fp8_d64");
        _flashFp8_128 = Function("flash_prefill_fp8_d128");
        _flashLdmFp8_64 = Function("flash_prefill_ldm_fp8_d64");
        _flashLdmFp8_128 = Function("flash_prefill_ldm_fp8_d128");
        // Partials of at most 2·SMs (sequence, kv head, split) blocks, each for a group of up to 8 heads of up to 512 dims.
        long blocks = 2L * _device.NumMultiprocessors;
        _decodeWorkspaceFloats = blocks * DecodeMaxGroup * AttentionMaxHeadDim;
        _decodeWorkspace = CudaBuffer.Allocate(_device, (_decodeWorkspaceFloats + 2 * blocks * DecodeMaxGroup) * sizeof(float));
        LoadDecodeFunctions();
    }

    /// <summary>Starts recording this thread's ops on the backend's stream instead of running them.</summary>
    public void BeginCapture()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _device.MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamBeginCapture(_device.Stream, CuDriver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture_v2");
    }

    /// <summary>Ends the recording started by <see cref="BeginCapture"/> and instantiates it.</summary>
    public CudaGraph EndCapture()
    {
        _device.MakeCurrent();
        nint graph, exec;
        CuDriver.Check(CuDriver.cuStreamEndCapture(_device.Stream, &graph), "cuStreamEndCapture");
        int result = CuDriver.cuGraphInstantiate(&exec, graph, 0);
        if (result != 0)
        {
            CuDriver.cuGraphDestroy(graph);
            CuDriver.Check(result, "cuGraphInstantiateWithFlags");
        }
        // Uploading now keeps the one-time setup out of the first replay.
        CuDriver.Check(CuDriver.cuGraphUpload(exec, _device.Stream), "cuGraphUpload");
        return new CudaGraph(this, graph, exec);
    }

    /// <summary>Enqueues a captured graph on the backend's stream.</summary>
    public void Replay(CudaGraph graph)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _device.MakeCurrent();
        CuDriver.Check(CuDriver.cuGraphLaunch(graph.Exec, _device.Stream), "cuGraphLaunch");
    }


    private bool TryGemv(Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        int k = weight.InFeatures;
        if (!UseGemv || rows < 1 || rows > GemvMaxRows || k % 8 != 0 || weight.Parts.Count > 3 || input.Data % 16 != 0) return false;
        for (int p = 0; p < weight.Parts.Count; p++)
            if (weight.Parts[p].Data % 16 != 0) return false;
        nint w0 = weight.Parts[0].Data, w1 = 0, w2 = 0;
        int n0 = weight.Parts[0].Shape[0], n1 = 0, n2 = 0;
        if (weight.Parts.Count > 1) { w1 = weight.Parts[1].Data; n1 = weight.Parts[1].Shape[0]; }
        if (weight.Parts.Count > 2) { w2 = weight.Parts[2].Data; n2 = weight.Parts[2].Shape[0]; }
        nint x = input.Data, outPtr = output.Data;
        long ldOut = weight.OutFeatures;
        int outF32 = output.DType == DType.F32 ? 1 : 0;
        // Matrices of few, long rows split each row's k over four warps so the work spreads over more warps.
        int warpsPerRow = weight.OutFeatures <= GemvSplitRowsBelow && k >= GemvSplitMinK && GemvSplitK ? 4 : 1;
        void** args = stackalloc void*[] { &w0, &n0, &w1, &n1, &w2, &n2, &x, &rows, &k, &outPtr, &ldOut, &outF32, &warpsPerRow };
        uint rowsPerBlock = GemvWarps / (uint)warpsPerRow;
        uint grid = (uint)((weight.OutFeatures + rowsPerBlock - 1) / rowsPerBlock);
        Launch(_gemv, grid, 1, 32 * GemvWarps, 0, args);
        return true;
    }

    private bool TryFastAttention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output, int maxBlocksPerSeq)
    {
        if (!UseFastAttention) return false;
        if (TryFusedDecode(query, cache, metadata, scale, output, maxBlocksPerSeq)) return true;
        bool fp8 = cache.Key.DType == DType.F8E4M3;
        int heads = query.Shape[1], headDim = query.Shape[2], kvHeads = cache.NumKvHeads, blockSize = cache.BlockSize;
        int numSeqs = metadata.NumSeqs, tokens = metadata.NumTokens, group = heads / kvHeads;
        nint qPtr = query.Data, keyCachePtr = cache.Key.Data, valueCachePtr = cache.Value.Data, outPtr = output.Data;
        nint seqLensPtr = metadata.SeqLens.Data, tablesPtr = metadata.BlockTables.Data, startsPtr = metadata.QueryStartLocs.Data;

        if (!fp8 && metadata.MaxQueryLen == 1 && tokens == numSeqs && group <= DecodeMaxGroup && _decodeSplit.TryGetValue(headDim, out nint decodeSplit))
        {
            // Splits depend only on the batch shape, never on the context lengths, so a captured graph stays valid.
            int maxContext = maxBlocksPerSeq * blockSize;
            int splits = Math.Min(2 * _device.NumMultiprocessors / Math.Max(1, numSeqs * kvHeads), (maxContext + DecodeTile - 1) / DecodeTile);
            splits = Math.Clamp(splits, 1, DecodeMaxSplits);
            nint partialOut = _decodeWorkspace!.Data;
            nint partialMax = partialOut + (nint)(_decodeWorkspaceFloats * sizeof(float));
            nint partialSum = partialMax + (nint)(2L * _device.NumMultiprocessors * DecodeMaxGroup * sizeof(float));
            void** args = stackalloc void*[] { &qPtr, &keyCachePtr, &valueCachePtr, &seqLensPtr, &tablesPtr, &maxBlocksPerSeq, &heads, &kvHeads,
                &blockSize, &scale, &splits, &outPtr, &partialOut, &partialMax, &partialSum };
            uint shared = (uint)((group * DecodeTile + 4 * group * headDim) * sizeof(float));
            LaunchZ(decodeSplit, (uint)numSeqs, (uint)kvHeads, (uint)splits, DecodeThreads, shared, args);
            if (splits > 1)
            {
                void** combineArgs = stackalloc void*[] { &partialOut, &partialMax, &partialSum, &heads, &headDim, &splits, &outPtr };
                Launch(_decodeCombine, (uint)numSeqs, (uint)heads, DecodeThreads, 0, combineArgs);
            }
            return true;
        }

        nint flash = (headDim, fp8) switch
        {
            (64, false) => UseLdmatrixFlash ? _flashLdm64 : _flash64,
            (128, false) => UseLdmatrixFlash ? _flashLdm128 : _flash128,
            (64, true) => UseLdmatrixFlash ? _flashLdmFp8_64 : _flashFp8_64,
            (128, true) => UseLdmatrixFlash ? _flashLdmFp8_128 : _flashFp8_128,
            _ => 0,
        };
        if (flash == 0 || metadata.MaxQueryLen < 1) return false;
        int tilesPerSeq = (metadata.MaxQueryLen + FlashQueryTile - 1) / FlashQueryTile;
        void** flashArgs = stackalloc void*[] { &qPtr, &keyCachePtr, &valueCachePtr, &startsPtr, &seqLensPtr, &tablesPtr, &maxBlocksPerSeq,
            &tilesPerSeq, &heads, &kvHeads, &blockSize, &scale, &outPtr };
        uint flashShared = (uint)(2 * 64 * (headDim + 8) * sizeof(ushort));
        Launch(flash, (uint)(numSeqs * tilesPerSeq), (uint)heads, 128, flashShared, flashArgs);
        return true;
    }

    private void LaunchZ(nint function, uint gridX, uint gridY, uint gridZ, uint threads, uint sharedBytes, void** args)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _device.MakeCurrent();
        _device.Launch(function, gridX, gridY, gridZ, threads, sharedBytes, args);
    }
}
