using System.Diagnostics;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Timings of the correctness-first kernels at Qwen3-14B's shapes, as the baseline the performance work
/// starts from (not a target). Weights are device zeros: timing does not depend on their values here.
/// Wall-clock over many launches with one synchronize, so launch overhead is included.
/// </summary>
internal static class Baseline
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936;

    public static void Run(IBackend cuda)
    {
        using var memory = new BackendPair(cuda, cuda);
        Console.WriteLine("baseline (Qwen3-14B shapes, H = hidden):");
        (string Name, int In, int Out, DType OutType)[] layers =
        [
            ("qkv", Hidden, (Heads + 2 * KvHeads) * HeadDim, DType.BF16), ("o", Heads * HeadDim, Hidden, DType.BF16),
            ("gate_up", Hidden, 2 * Inter, DType.BF16), ("down", Inter, Hidden, DType.BF16), ("lm_head", Hidden, Vocab, DType.F32),
        ];
        foreach (var (name, inF, outF, outType) in layers)
        {
            var weight = LinearWeight.Dense(memory.Zeros(cuda, new Shape(outF, inF), DType.BF16));
            foreach (int rows in new[] { 1, 2, 4, 8, 16, 32, 64, 512, 2048 })
            {
                var input = memory.Zeros(cuda, new Shape(rows, inF), DType.BF16);
                var output = memory.Zeros(cuda, new Shape(rows, outF), outType);
                // Batch 1-4 twice: cuBLASLt, then the custom GEMV the backend picks by default.
                foreach (bool gemv in rows <= 4 ? new[] { false, true } : new[] { true })
                {
                    if (cuda is Hearth.Backends.Cuda.CudaBackend c) c.UseGemv = gemv;
                    double seconds = Time(cuda, () => cuda.Linear(input, weight, output), rows >= 512 ? 20 : 50);
                    double weightGBs = 2.0 * inF * outF / seconds / 1e9;
                    double tflops = 2.0 * rows * inF * outF / seconds / 1e12;
                    string how = rows > 4 ? "cublasLt" : gemv ? "gemv" : "cublasLt";
                    Console.WriteLine($"  linear {name,-8} {inF,5}->{outF,-6} rows={rows,-4} {how,-8}: {seconds * 1e6,9:F1} us  {weightGBs,7:F0} GB/s of weights  {tflops,6:F1} TFLOP/s");
                }
            }
        }
        var cudaBackend = cuda as Hearth.Backends.Cuda.CudaBackend;
        int defaultPerSm = cudaBackend?.DecodeBlocksPerMultiprocessor ?? 0;
        int defaultMinSeqs = cudaBackend?.TensorCoreDecodeMinSeqs ?? 0;
        foreach (var (batch, context) in new[] { (1, 512), (8, 512), (32, 512), (64, 512), (1, 4096), (32, 4096) })
        {
            // The CUDA-core group kernel (session 4's default) at 4 and 8 blocks per SM, then the tensor-core kernel
            // (uncapped registers at 4; capped for four blocks an SM at 4, 8 and 16); eager (50 launches, launch cost included) and as 40 layers replayed from a CUDA graph.
            foreach (var (mma, fourBlocks, perSm) in new[] { (false, true, 4), (false, true, 8), (true, false, 4), (true, true, 4), (true, true, 8), (true, true, 16) })
            {
                if (cudaBackend is not null)
                {
                    cudaBackend.TensorCoreDecodeMinSeqs = mma ? 1 : int.MaxValue;
                    cudaBackend.TensorCoreDecodeFourBlocks = fourBlocks;
                    cudaBackend.DecodeBlocksPerMultiprocessor = perSm;
                }
                var (eager, graph) = DecodeAttention(cuda, memory, batch, context);
                double kvGBs = 2.0 * 2 * batch * context * KvHeads * HeadDim / graph / 1e9;
                string how = $"{(!mma ? "group kernel" : fourBlocks ? "tensor cores" : "tensor cores uncapped")}, {perSm,2} blocks/SM";
                Console.WriteLine($"  attention decode batch={batch,-2} context={context,-4} {how,-28}: eager {eager * 1e6,7:F1} us, graph {graph * 1e6,7:F1} us  {kvGBs,7:F0} GB/s of KV");
            }
        }
        if (cudaBackend is not null)
        {
            cudaBackend.DecodeBlocksPerMultiprocessor = defaultPerSm;
            cudaBackend.TensorCoreDecodeMinSeqs = defaultMinSeqs;
            cudaBackend.TensorCoreDecodeFourBlocks = true;
        }
        bool defaultLdm = cuda is Hearth.Backends.Cuda.CudaBackend cd && cd.UseLdmatrixFlash;
        foreach (var (fast, ldm) in new[] { (false, false), (true, !defaultLdm), (true, defaultLdm) })
        {
            if (cuda is Hearth.Backends.Cuda.CudaBackend cb) cb.UseLdmatrixFlash = ldm;
            // One 2048-token prompt: the general kernel, then the tensor-core one.
            const int Prompt = 2048, BlockSize = 16;
            if (cuda is Hearth.Backends.Cuda.CudaBackend c) c.UseFastAttention = fast;
            var cacheShape = new Shape(Prompt / BlockSize, BlockSize, KvHeads, HeadDim);
            var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, DType.BF16), memory.Zeros(cuda, cacheShape, DType.BF16));
            var query = memory.Zeros(cuda, new Shape(Prompt, Heads, HeadDim), DType.BF16);
            var output = memory.Zeros(cuda, new Shape(Prompt, Heads, HeadDim), DType.BF16);
            var metadata = new AttentionMetadata
            {
                NumSeqs = 1, NumTokens = Prompt, MaxQueryLen = Prompt, MaxSeqLen = Prompt,
                QueryStartLocs = memory.Ints(cuda, [0, Prompt], new Shape(2)),
                SeqLens = memory.Ints(cuda, [Prompt], new Shape(1)),
                BlockTables = memory.Ints(cuda, Enumerable.Range(0, Prompt / BlockSize).ToArray(), new Shape(1, Prompt / BlockSize)),
                SlotMapping = memory.Zeros(cuda, new Shape(Prompt), DType.I32), Positions = memory.Zeros(cuda, new Shape(Prompt), DType.I32),
            };
            double seconds = Time(cuda, () => cuda.Attention(query, cache, metadata, 0.088f, output), fast ? 10 : 2);
            double tflops = 2.0 * 2 * Heads * HeadDim * (Prompt * (Prompt + 1) / 2.0) / seconds / 1e12;
            Console.WriteLine($"  attention prefill {(fast ? ldm ? "flash-ldmatrix" : "flash" : "general")} {Prompt} tokens: {seconds * 1e6,9:F1} us  {tflops,6:F1} TFLOP/s (causal)");
        }
        {
            const int Rows = 512;
            var x = memory.Zeros(cuda, new Shape(Rows, Hidden), DType.BF16);
            var y = memory.Zeros(cuda, new Shape(Rows, Hidden), DType.BF16);
            var w = memory.Zeros(cuda, new Shape(Hidden), DType.BF16);
            double seconds = Time(cuda, () => cuda.AddRmsNorm(x, y, w, 1e-6f, y), 50);
            Console.WriteLine($"  add_rms_norm [{Rows}, {Hidden}]: {seconds * 1e6,9:F1} us  {4.0 * 2 * Rows * Hidden / seconds / 1e9,7:F0} GB/s");
        }
    }

    /// <summary>Seconds per decode attention launch: eager, and per layer of 40 launches replayed from a CUDA graph.</summary>
    private static (double Eager, double Graph) DecodeAttention(IBackend cuda, BackendPair memory, int batch, int context)
    {
        const int BlockSize = 16;
        int blocksPerSeq = context / BlockSize;
        var cacheShape = new Shape(batch * blocksPerSeq, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, DType.BF16), memory.Zeros(cuda, cacheShape, DType.BF16));
        var query = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var output = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Repeat(context, batch).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, batch * blocksPerSeq).ToArray(), new Shape(batch, blocksPerSeq)),
            SlotMapping = memory.Zeros(cuda, new Shape(batch), DType.I32), Positions = memory.Zeros(cuda, new Shape(batch), DType.I32),
        };
        void Layer() => cuda.Attention(query, cache, metadata, 0.088f, output);
        double eager = Time(cuda, Layer, 50);
        if (cuda is not Hearth.Backends.Cuda.CudaBackend c) return (eager, eager);
        const int Layers = 40;
        double graph = GraphTiming.SecondsPerReplay(c, () => { for (int l = 0; l < Layers; l++) Layer(); }, replays: 10) / Layers;
        return (eager, graph);
    }

    private static double Time(IBackend backend, Action op, int iterations)
    {
        op();
        op();
        backend.Synchronize();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) op();
        backend.Synchronize();
        return watch.Elapsed.TotalSeconds / iterations;
    }
}
