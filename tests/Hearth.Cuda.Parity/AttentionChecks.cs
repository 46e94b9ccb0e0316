using Hearth.Backends;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Paged KV writes and attention over several sequences at once: decode rows (query length 1), prefill
/// and chunked prefill over a cached prefix, GQA ratios 1/2/4, shuffled block tables, block sizes 16 and 5.
/// </summary>
internal sealed class AttentionChecks(BackendPair pair, ParityReport report, RandomData random)
{
    public void RunAll()
    {
        // (context length, query length) per sequence: the query rows are each context's newest tokens.
        (int, int)[] mixed = [(1, 1), (37, 1), (300, 1), (19, 19), (70, 23), (129, 128)];
        Guard("attention mixed h=4 kv=2 d=32 block=16", () => Attention(mixed, 4, 2, 32, 16));
        Guard("attention mixed h=8 kv=2 d=128 block=16", () => Attention(mixed, 8, 2, 128, 16));
        Guard("attention mixed h=4 kv=4 d=64 block=5", () => Attention(mixed, 4, 4, 64, 5));
        Guard("attention decode h=16 kv=8 d=128 block=16", () => Attention([(1000, 1), (513, 1), (2, 1)], 16, 8, 128, 16));
        Guard("attention prefill h=4 kv=1 d=256 block=16", () => Attention([(200, 200)], 4, 1, 256, 16));
        // Qwen3-14B's grouping (5 query heads per kv head): split-K decode and tensor-core prefill over cached prefixes.
        Guard("attention decode h=40 kv=8 d=128 block=16", () => Attention([(517, 1)], 40, 8, 128, 16));
        Guard("attention decode batch h=40 kv=8 d=128 block=16", () => Attention([(3000, 1), (17, 1), (64, 1), (129, 1)], 40, 8, 128, 16));
        Guard("attention prefill h=40 kv=8 d=128 block=16", () => Attention([(700, 300), (64, 64), (65, 65), (1, 1)], 40, 8, 128, 16));
        Guard("attention prefill h=8 kv=2 d=64 block=5", () => Attention([(333, 333), (150, 7)], 8, 2, 64, 5));
        if (pair.Cuda is Hearth.Backends.Cuda.CudaBackend cuda)
        {
            // The ldmatrix variant of the tensor-core prefill kernel (off by default).
            bool ldm = cuda.UseLdmatrixFlash;
            cuda.UseLdmatrixFlash = !ldm;
            Guard($"attention prefill (ldmatrix {!ldm}) h=40 kv=8 d=128", () => Attention([(700, 300), (64, 64), (65, 65)], 40, 8, 128, 16));
            Guard($"attention prefill (ldmatrix {!ldm}) h=8 kv=2 d=64", () => Attention([(333, 333), (150, 7)], 8, 2, 64, 5));
            cuda.UseLdmatrixFlash = ldm;
        }
    }

    private void Guard(string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }

    private void Attention((int Context, int Query)[] seqs, int heads, int kvHeads, int headDim, int blockSize)
    {
        int numSeqs = seqs.Length;
        int[] blocksPerSeq = seqs.Select(s => (s.Context + blockSize - 1) / blockSize).ToArray();
        int maxBlocks = blocksPerSeq.Max();
        int numBlocks = blocksPerSeq.Sum() + 3;
        int[] blockIds = Enumerable.Range(0, numBlocks).ToArray();
        random.Shuffle(blockIds);
        int[] blockTables = new int[numSeqs * maxBlocks];
        int next = 0;
        for (int s = 0; s < numSeqs; s++)
            for (int b = 0; b < blocksPerSeq[s]; b++) blockTables[s * maxBlocks + b] = blockIds[next++];

        int totalContext = seqs.Sum(s => s.Context);
        int[] contextSlots = new int[totalContext];
        int row = 0;
        for (int s = 0; s < numSeqs; s++)
            for (int p = 0; p < seqs[s].Context; p++)
                contextSlots[row++] = blockTables[s * maxBlocks + p / blockSize] * blockSize + p % blockSize;

        int numTokens = seqs.Sum(s => s.Query);
        int[] queryStarts = new int[numSeqs + 1];
        int[] positions = new int[numTokens];
        int[] newSlots = new int[numTokens];
        for (int s = 0, t = 0; s < numSeqs; s++)
        {
            queryStarts[s + 1] = queryStarts[s] + seqs[s].Query;
            for (int j = 0; j < seqs[s].Query; j++, t++)
            {
                positions[t] = seqs[s].Context - seqs[s].Query + j;
                newSlots[t] = blockTables[s * maxBlocks + positions[t] / blockSize] * blockSize + positions[t] % blockSize;
            }
        }
        int[] seqLens = seqs.Select(s => s.Context).ToArray();

        float[] keys = random.Uniform((long)totalContext * kvHeads * headDim, -2, 2);
        float[] values = random.Uniform((long)totalContext * kvHeads * headDim);
        float[] query = random.Uniform((long)numTokens * heads * headDim, -2, 2);
        float scale = 1f / MathF.Sqrt(headDim);

        float[][] Run(IBackend b)
        {
            var cacheShape = new Shape(numBlocks, blockSize, kvHeads, headDim);
            var cache = new KvCacheLayer(pair.Zeros(b, cacheShape, b.ActivationDType), pair.Zeros(b, cacheShape, b.ActivationDType));
            var kvShape = new Shape(totalContext, kvHeads, headDim);
            b.WriteKvCache(pair.Activation(b, keys, kvShape), pair.Activation(b, values, kvShape), cache,
                pair.Ints(b, contextSlots, new Shape(totalContext)));
            var metadata = new AttentionMetadata
            {
                NumSeqs = numSeqs,
                NumTokens = numTokens,
                MaxQueryLen = seqs.Max(s => s.Query),
                MaxSeqLen = seqs.Max(s => s.Context),
                QueryStartLocs = pair.Ints(b, queryStarts, new Shape(numSeqs + 1)),
                SeqLens = pair.Ints(b, seqLens, new Shape(numSeqs)),
                BlockTables = pair.Ints(b, blockTables, new Shape(numSeqs, maxBlocks)),
                SlotMapping = pair.Ints(b, newSlots, new Shape(numTokens)),
                Positions = pair.Ints(b, positions, new Shape(numTokens)),
            };
            var output = pair.Zeros(b, new Shape(numTokens, heads, headDim), b.ActivationDType);
            b.Attention(pair.Activation(b, query, new Shape(numTokens, heads, headDim)), cache, metadata, scale, output);
            return [pair.Download(b, output), pair.Download(b, cache.Key), pair.Download(b, cache.Value)];
        }

        var expected = Run(pair.Reference);
        var actual = Run(pair.Cuda);
        string name = $"seqs={numSeqs} tokens={numTokens} h={heads} kv={kvHeads} d={headDim} block={blockSize}";
        report.Compare("write_kv_cache key " + name, expected[1], actual[1], 0, 0);
        report.Compare("write_kv_cache value " + name, expected[2], actual[2], 0, 0);
        report.Compare("attention " + name, expected[0], actual[0], 1.6e-2, 4e-3);
    }
}
