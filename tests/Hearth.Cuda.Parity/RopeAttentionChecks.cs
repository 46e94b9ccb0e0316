using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// QkNormRopeAttention with the q/k norm, RoPE and KV write fused into the tensor-core decode attention
/// (decode_attention_mma_rope_*) against the two unfused CUDA launches bit for bit (query, key, value, both caches,
/// the output) and, where the CPU takes the batch, against the CPU backend within the bf16 tolerances: one sequence at contexts 1, 33 and 4,100
/// (the new token alone, on a split edge, many splits), batches with a padded row, GQA groups 1, 5 and 8, head dims
/// 64 and 128, with and without the q/k norms; each case also proves the fused kernel ran.
/// </summary>
internal static class RopeAttentionChecks
{
    private const int BlockSize = 16, MaxBlocksPerSeq = 300;

    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var cpu = new CpuBackend(0);
        var cases = new (int[] Contexts, int Heads, int KvHeads, int HeadDim, bool Norms)[]
        {
            ([1], 40, 8, 128, true), ([33], 40, 8, 128, true), ([4100], 40, 8, 128, true),
            ([700, 0, 31, 90], 16, 2, 64, true), ([5, 300, 1000], 8, 8, 128, true), ([64, 17], 16, 2, 64, false),
        };
        foreach (var (contexts, heads, kvHeads, headDim, norms) in cases)
        {
            string name = $"rope+attention fused contexts=[{string.Join(',', contexts)}] h={heads} kv={kvHeads} d={headDim}{(norms ? "" : " no norms")}";
            try { Check(cuda, cpu, report, random, contexts, heads, kvHeads, headDim, norms, name); }
            catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
        }
    }

    private static void Check(CudaBackend cuda, CpuBackend cpu, ParityReport report, RandomData random, int[] contexts,
        int heads, int kvHeads, int headDim, bool norms, string name)
    {
        int seqs = contexts.Length, width = (heads + 2 * kvHeads) * headDim;
        int numBlocks = contexts.Sum(c => (c + BlockSize - 1) / BlockSize) + 3;
        // Each sequence's blocks are scattered over the pool, as the block manager leaves them after frees.
        int[] pool = Enumerable.Range(0, numBlocks).OrderBy(_ => random.Next(1 << 30)).ToArray();
        int[] tables = new int[seqs * MaxBlocksPerSeq];
        int next = 0;
        for (int s = 0; s < seqs; s++)
            for (int b = 0; b < (contexts[s] + BlockSize - 1) / BlockSize; b++) tables[s * MaxBlocksPerSeq + b] = pool[next++];
        int[] positions = contexts.Select(c => Math.Max(0, c - 1)).ToArray();
        int[] slots = contexts.Select((c, s) => c == 0 ? -1 : tables[s * MaxBlocksPerSeq + (c - 1) / BlockSize] * BlockSize + (c - 1) % BlockSize).ToArray();
        float[] qkv = random.Uniform((long)seqs * width, -2, 2);
        float[] qNorm = random.Uniform(headDim, 0.5f, 1.5f), kNorm = random.Uniform(headDim, 0.5f, 1.5f);
        float[] invFreq = Enumerable.Range(0, headDim / 2).Select(i => (float)(1.0 / Math.Pow(1_000_000.0, 2.0 * i / headDim))).ToArray();
        var cacheShape = new Shape(numBlocks, BlockSize, kvHeads, headDim);
        float[] keys = random.Uniform(cacheShape.NumElements, -2, 2), values = random.Uniform(cacheShape.NumElements, -2, 2);
        float scale = 1f / MathF.Sqrt(headDim);
        bool fuse = cuda.FuseRopeIntoAttention;

        float[][] Run(IBackend b, bool fused)
        {
            if (b is CudaBackend c) c.FuseRopeIntoAttention = fused;
            using var pair = new BackendPair(b, b);
            var q = pair.Zeros(b, new Shape(seqs, heads, headDim), b.ActivationDType);
            var k = pair.Zeros(b, new Shape(seqs, kvHeads, headDim), b.ActivationDType);
            var v = pair.Zeros(b, new Shape(seqs, kvHeads, headDim), b.ActivationDType);
            var output = pair.Zeros(b, new Shape(seqs, heads, headDim), b.ActivationDType);
            var cache = new KvCacheLayer(pair.Upload(b, keys, cacheShape, DType.BF16), pair.Upload(b, values, cacheShape, DType.BF16));
            var metadata = new AttentionMetadata
            {
                NumSeqs = seqs, NumTokens = seqs, MaxQueryLen = 1, MaxSeqLen = contexts.Max(),
                QueryStartLocs = pair.Ints(b, Enumerable.Range(0, seqs + 1).ToArray(), new Shape(seqs + 1)),
                SeqLens = pair.Ints(b, contexts, new Shape(seqs)),
                BlockTables = pair.Ints(b, tables, new Shape(seqs, MaxBlocksPerSeq)),
                SlotMapping = pair.Ints(b, slots, new Shape(seqs)),
                Positions = pair.Ints(b, positions, new Shape(seqs)),
            };
            var rope = new RopeParameters(pair.Upload(b, invFreq, new Shape(invFreq.Length), DType.F32), 1f);
            Tensor? queryNorm = norms ? pair.Weight(b, qNorm, new Shape(headDim), DType.F32) : null;
            Tensor? keyNorm = norms ? pair.Weight(b, kNorm, new Shape(headDim), DType.F32) : null;
            b.QkNormRopeAttention(pair.Activation(b, qkv, new Shape(seqs, width)), queryNorm, keyNorm, 1e-6f, rope, q, k, v, cache,
                metadata, scale, output);
            return [pair.Download(b, q), pair.Download(b, k), pair.Download(b, v), pair.Download(b, cache.Key),
                pair.Download(b, cache.Value), pair.Download(b, output)];
        }

        try
        {
            // A padded row (context 0, as a graph bucket's filler) is CUDA-only metadata: the CPU refuses a query with no
            // keys, so those batches are checked against the unfused CUDA launches alone.
            var expected = contexts.Contains(0) ? null : Run(cpu, false);
            var unfused = Run(cuda, false);
            long launches = cuda.NumRopeDecodeLaunches;
            var fused = Run(cuda, true);
            report.Record(cuda.NumRopeDecodeLaunches == launches + 1, name + " ran the fused kernel",
                $"{cuda.NumRopeDecodeLaunches - launches} fused launches");
            string[] parts = ["query", "key", "value", "key cache", "value cache", "output"];
            for (int i = 0; i < parts.Length; i++)
            {
                report.Compare($"{name} {parts[i]} = unfused bit for bit", unfused[i], fused[i], 0, 0);
                if (expected is not null) report.Compare($"{name} {parts[i]} vs cpu", expected[i], fused[i], 2e-2, 4e-3);
            }
        }
        finally { cuda.FuseRopeIntoAttention = fuse; }
    }
}
