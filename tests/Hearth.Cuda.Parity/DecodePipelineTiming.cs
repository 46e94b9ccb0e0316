using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 6's A/B timings at Qwen3-14B's shape, all in one process: decode attention per layer (unpipelined
/// tensor-core kernel against the pipelined one at each ring depth and blocks per SM), the batch-32 linears with
/// cuBLASLt's heuristic pick against the autotuned one (plus a check that both give the same product), and whole
/// decode steps (<see cref="DecodeStepTiming"/>) with each setting off and on.
/// </summary>
internal static class DecodePipelineTiming
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936;

    private sealed record AttentionSetting(string Name, int Stages, int PipeBlocksPerSm, bool AnyBatch = true);

    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        int stages = cuda.DecodePipelineStages, pipePerSm = cuda.PipelinedDecodeBlocksPerMultiprocessor, minSeqs = cuda.TensorCoreDecodeMinSeqs;
        bool autotune = cuda.GemmAutotune, any = cuda.PipelinedDecodeAnyBatch;
        try
        {
            cuda.TensorCoreDecodeMinSeqs = 1;
            Attention(cuda);
            cuda.DecodePipelineStages = stages;
            cuda.PipelinedDecodeBlocksPerMultiprocessor = pipePerSm;
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
            cuda.PipelinedDecodeAnyBatch = false;
            Linears(cuda, report, random);
            foreach (var (pipe, tune) in new[] { (0, false), (stages, false), (stages, true) })
            {
                cuda.DecodePipelineStages = pipe;
                cuda.GemmAutotune = tune;
                Console.WriteLine($"whole decode steps, pipelined attention {(pipe > 0 ? $"{pipe} stages" : "off")}, GEMM autotune {(tune ? "on" : "off")}:");
                DecodeStepTiming.Run(cuda);
            }
        }
        finally
        {
            cuda.DecodePipelineStages = stages;
            cuda.PipelinedDecodeBlocksPerMultiprocessor = pipePerSm;
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
            cuda.GemmAutotune = autotune;
            cuda.PipelinedDecodeAnyBatch = any;
        }
    }

    private static void Attention(CudaBackend cuda)
    {
        AttentionSetting[] settings =
        [
            new("default plan", DecodeKernelPlan.DefaultPipelineStages, 0, false),
            new("unpipelined (session 5), 4 blocks/SM", 0, 0),
            new("pipe2, occupancy blocks/SM", 2, 0),
            new("pipe2, 2 blocks/SM", 2, 2),
            new("pipe2, 4 blocks/SM", 2, 4),
            new("pipe3, occupancy blocks/SM", 3, 0),
            new("pipe3, 3 blocks/SM", 3, 3),
        ];
        Console.WriteLine($"decode attention per layer (14B shape, bf16 KV, 40 launches replayed from a graph); occupancy pipe2 "
            + $"{cuda.PipelinedDecodeOccupancy(HeadDim, 2)}, pipe3 {cuda.PipelinedDecodeOccupancy(HeadDim, 3)} blocks/SM:");
        foreach (var (batch, context) in new[] { (1, 512), (8, 512), (32, 512), (64, 512), (1, 4096), (32, 4096) })
        {
            using var memory = new BackendPair(cuda, cuda);
            Action layer = AttentionLayer(cuda, memory, batch, context);
            foreach (var s in settings)
            {
                cuda.DecodePipelineStages = s.Stages;
                cuda.PipelinedDecodeBlocksPerMultiprocessor = s.PipeBlocksPerSm;
                cuda.PipelinedDecodeAnyBatch = s.AnyBatch;
                const int Layers = 40;
                double seconds = GraphTiming.SecondsPerReplay(cuda, () => { for (int l = 0; l < Layers; l++) layer(); }, replays: 20) / Layers;
                double kvGBs = 2.0 * 2 * batch * context * KvHeads * HeadDim / seconds / 1e9;
                Console.WriteLine($"  attention batch={batch,-2} context={context,-4} {s.Name,-40}: {seconds * 1e6,7:F1} us  {kvGBs,6:F0} GB/s of KV");
            }
        }
    }

    private static Action AttentionLayer(CudaBackend cuda, BackendPair memory, int batch, int context)
    {
        const int BlockSize = 16;
        int blocksPerSeq = context / BlockSize;
        var cacheShape = new Shape(batch * blocksPerSeq, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, DType.BF16), memory.Zeros(cuda, cacheShape, DType.BF16));
        var query = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var output = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        // Each sequence's blocks spread over the pool, as the engine's allocator leaves them after a while.
        int[] tables = Enumerable.Range(0, batch * blocksPerSeq).Select(i => (i % blocksPerSeq) * batch + i / blocksPerSeq).ToArray();
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Repeat(context, batch).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, tables, new Shape(batch, blocksPerSeq)),
            SlotMapping = memory.Zeros(cuda, new Shape(batch), DType.I32), Positions = memory.Zeros(cuda, new Shape(batch), DType.I32),
        };
        return () => cuda.Attention(query, cache, metadata, 0.088f, output);
    }

    private static void Linears(CudaBackend cuda, ParityReport report, RandomData random)
    {
        const int Rows = 32, Repeats = 10;
        (string Name, int[] Parts, int In, DType Out)[] linears =
        [
            ("q|k|v", [Heads * HeadDim, KvHeads * HeadDim, KvHeads * HeadDim], Hidden, DType.BF16),
            ("o", [Hidden], Heads * HeadDim, DType.BF16),
            ("gate|up", [Inter, Inter], Hidden, DType.BF16),
            ("down", [Hidden], Inter, DType.BF16),
            ("lm_head", [Vocab], Hidden, DType.F32),
        ];
        Console.WriteLine($"linears at {Rows} rows (zero weights, {Repeats} calls replayed from a graph), heuristic pick vs autotuned:");
        int recordsBefore = cuda.GemmTuneRecords.Count;
        foreach (var (name, parts, inF, outType) in linears)
        {
            using var memory = new BackendPair(cuda, cuda);
            var weight = LinearWeight.Dense(parts.Select(p => memory.Zeros(cuda, new Shape(p, inF), DType.BF16)).ToArray());
            int outF = parts.Sum();
            var input = memory.Zeros(cuda, new Shape(Rows, inF), DType.BF16);
            var output = memory.Zeros(cuda, new Shape(Rows, outF), outType);
            var micros = new double[2];
            foreach (bool tune in new[] { false, true })
            {
                cuda.GemmAutotune = tune;
                micros[tune ? 1 : 0] = 1e6 / Repeats * GraphTiming.SecondsPerReplay(cuda, () => { for (int i = 0; i < Repeats; i++) cuda.Linear(input, weight, output); }, replays: 10);
            }
            double weightGBs = 2.0 * inF * outF / (micros[1] * 1e-6) / 1e9;
            Console.WriteLine($"  linear {name,-8} {inF,5}->{outF,-6} rows={Rows}: heuristic {micros[0],8:F1} us, autotuned {micros[1],8:F1} us ({micros[0] / micros[1]:F3}x, {weightGBs,5:F0} GB/s of weights)");
        }
        var records = cuda.GemmTuneRecords;
        for (int i = recordsBefore; i < records.Count; i++)
        {
            var r = records[i];
            Console.WriteLine($"  tuned [{r.Rows}, {r.InFeatures}] x [{r.OutFeatures}, {r.InFeatures}]^T: {r.NumCandidates} candidates, #{r.BestIndex} won, "
                + $"{r.HeuristicSeconds * 1e6:F1} -> {r.BestSeconds * 1e6:F1} us in the tuner's own timing");
        }
        TunedProductCheck(cuda, report, random);
    }

    /// <summary>The autotuned algorithm computes the same product as the heuristic's pick (random o-proj weights, 32 rows).</summary>
    private static void TunedProductCheck(CudaBackend cuda, ParityReport report, RandomData random)
    {
        const int Rows = 32, Out = 5120, In = 5120;
        using var memory = new BackendPair(cuda, cuda);
        var weight = LinearWeight.Dense(memory.Upload(cuda, random.Uniform((long)Out * In, -0.05f, 0.05f), new Shape(Out, In), DType.BF16));
        var input = memory.Upload(cuda, random.Uniform((long)Rows * In), new Shape(Rows, In), DType.BF16);
        var results = new List<float[]>();
        foreach (bool tune in new[] { false, true })
        {
            cuda.GemmAutotune = tune;
            var output = memory.Zeros(cuda, new Shape(Rows, Out), DType.F32);
            cuda.Linear(input, weight, output);
            results.Add(memory.Download(cuda, output));
        }
        report.Compare("linear 5120->5120 rows=32 autotuned vs heuristic algorithm", results[0], results[1], 1e-4, 1e-5);
    }
}
