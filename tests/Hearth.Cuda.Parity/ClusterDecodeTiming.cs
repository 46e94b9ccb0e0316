using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The session-10 decode attention against the session-5 kernel at Qwen3-14B's shape (40 heads, 8 kv heads, dim 128,
/// the engine's 2,560-block table), settings alternated in one process (HEARTH_CUDA_DECODE_CLUSTER 0 = session 5, 1 =
/// early loads without clusters, 8 = clusters of eight): per layer, the attention alone (40 launches a graph) and as a
/// layer runs it, after q/k norm + RoPE + KV write (40 pairs a graph, the write being the attention's PDL predecessor);
/// then the whole batch-1 14B step (StepAblationTiming, full step only) per setting, alternated.
/// </summary>
internal static class ClusterDecodeTiming
{
    private const int Heads = 40, KvHeads = 8, HeadDim = 128, BlockSize = 16, TableBlocks = 2560, Layers = 40;
    // HEARTH_CUDA_DECODE_CLUSTER: session 5 (its capped _o4), early loads alone, clusters of eight with the splits of
    // branch dcl (not capped at the resident clusters), clusters of eight capped at one wave (the default).
    private static readonly (int Setting, bool OneWave, string Label)[] Settings = [(0, true, "0"), (1, true, "1"), (8, false, "8 uncapped"), (8, true, "8")];

    public static void Run(CudaBackend cuda)
    {
        int setting = cuda.DecodeClusterSetting, maxSeqs = cuda.DecodeClusterMaxSeqs;
        bool oneWave = cuda.DecodeClusterOneWave;
        cuda.DecodeClusterMaxSeqs = 64;   // batch 32 on the new kernel too (it has too few splits for a cluster)
        try
        {
            Console.WriteLine($"clusters of 8 resident at once (driver): bf16 {cuda.ClusterDecodeMaxActiveClusters(HeadDim, false)}, "
                + $"fp8 {cuda.ClusterDecodeMaxActiveClusters(HeadDim, true)}; cluster scheduling policy {cuda.ClusterSchedulingPolicy}");
            Console.WriteLine("decode attention (session 10), Qwen3-14B shape, us a layer, settings of HEARTH_CUDA_DECODE_CLUSTER alternated:");
            foreach (var (batch, context) in new[] { (1, 512), (1, 640), (1, 1024), (3, 512), (8, 512), (32, 512), (1, 4096), (1, 32768) })
                foreach (bool withWrite in new[] { false, true })
                {
                    var sums = new double[Settings.Length];
                    const int Rounds = 3;
                    for (int round = 0; round < Rounds; round++)
                        for (int i = 0; i < Settings.Length; i++)
                        {
                            cuda.DecodeClusterSetting = Settings[i].Setting;
                            cuda.DecodeClusterOneWave = Settings[i].OneWave;
                            sums[i] += PerLayer(cuda, batch, context, withWrite);
                        }
                    string what = withWrite ? "kv write + attention" : "attention alone";
                    Console.WriteLine($"  batch {batch,2} context {context,5} {what,-21}: "
                        + string.Join("  ", Settings.Select((s, i) => $"{s.Label}: {sums[i] / Rounds * 1e6,6:F2}")));
                }
            cuda.DecodeClusterOneWave = oneWave;
            Environment.SetEnvironmentVariable("HEARTH_ABLATION_FULL_ONLY", "1");
            foreach (int s in new[] { 0, 8, 0, 8 })
            {
                cuda.DecodeClusterSetting = s;
                Console.WriteLine($"whole step, HEARTH_CUDA_DECODE_CLUSTER={s}:");
                StepAblationTiming.Run(cuda);
            }
        }
        finally
        {
            cuda.DecodeClusterSetting = setting;
            cuda.DecodeClusterMaxSeqs = maxSeqs;
            cuda.DecodeClusterOneWave = oneWave;
        }
    }

    private static double PerLayer(CudaBackend cuda, int batch, int context, bool withWrite)
    {
        using var memory = new BackendPair(cuda, cuda);
        int blocksPerSeq = (context + BlockSize - 1) / BlockSize;
        var cacheShape = new Shape(batch * blocksPerSeq, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, DType.BF16), memory.Zeros(cuda, cacheShape, DType.BF16));
        var qkv = memory.Zeros(cuda, new Shape(batch, (Heads + 2 * KvHeads) * HeadDim), DType.BF16);
        var query = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var key = memory.Zeros(cuda, new Shape(batch, KvHeads, HeadDim), DType.BF16);
        var value = memory.Zeros(cuda, new Shape(batch, KvHeads, HeadDim), DType.BF16);
        var output = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var norm = memory.Zeros(cuda, new Shape(HeadDim), DType.BF16);
        var rope = new RopeParameters(memory.Zeros(cuda, new Shape(HeadDim / 2), DType.F32), 1f);
        int[] tables = new int[batch * TableBlocks];
        for (int s = 0; s < batch; s++)
            for (int b = 0; b < blocksPerSeq; b++) tables[s * TableBlocks + b] = s * blocksPerSeq + b;
        int[] slots = Enumerable.Range(0, batch).Select(s => (s * blocksPerSeq * BlockSize) + context - 1).ToArray();
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Repeat(context, batch).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, tables, new Shape(batch, TableBlocks)),
            SlotMapping = memory.Ints(cuda, slots, new Shape(batch)), Positions = memory.Ints(cuda, Enumerable.Repeat(context - 1, batch).ToArray(), new Shape(batch)),
        };
        cuda.BeginForward(batch);
        void Step()
        {
            for (int l = 0; l < Layers; l++)
            {
                if (withWrite) cuda.QkNormRopeWriteKv(qkv, norm, norm, 1e-6f, metadata.Positions, rope, query, key, value, cache, metadata.SlotMapping);
                cuda.Attention(query, cache, metadata, 0.088f, output);
            }
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, replays: 20) / Layers;
    }
}
