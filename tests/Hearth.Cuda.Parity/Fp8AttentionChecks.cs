using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The fused decode kernel and the float8_e4m3fn KV cache against the CPU backend holding the same cache dtype:
/// write bytes must be identical (inputs are bf16-exact, so both sides round the same values), attention within
/// bf16 tolerances. Decode over GQA groups 1-8, head dims 32-256, batches, 32K contexts, the general and
/// tensor-core prefill kernels on fp8, and a captured CUDA graph replayed as the context grows.
/// </summary>
internal sealed class Fp8AttentionChecks(IBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private readonly CpuBackend _cpu = new(0);

    public void RunAll()
    {
        foreach (var dtype in new[] { DType.F8E4M3, DType.BF16 })
        {
            string n = dtype == DType.F8E4M3 ? "fp8" : "bf16";
            Guard($"{n} decode h=40 kv=8 d=128", () => Attention(dtype, [(517, 1)], 40, 8, 128, 16));
            Guard($"{n} decode batch h=40 kv=8 d=128", () => Attention(dtype, [(3000, 1), (17, 1), (64, 1), (129, 1), (1, 1)], 40, 8, 128, 16));
            Guard($"{n} decode h=16 kv=2 d=64 block=5", () => Attention(dtype, [(1000, 1), (33, 1)], 16, 2, 64, 5));
            Guard($"{n} decode h=4 kv=1 d=256", () => Attention(dtype, [(200, 1), (31, 1)], 4, 1, 256, 16));
            Guard($"{n} decode h=4 kv=2 d=32", () => Attention(dtype, [(70, 1)], 4, 2, 32, 16));
            Guard($"{n} decode 32K h=40 kv=8 d=128", () => Attention(dtype, [(32768, 1)], 40, 8, 128, 16));
            Guard($"{n} decode wide table h=40 kv=8 d=128", () => Attention(dtype, [(700, 1), (5, 1)], 40, 8, 128, 16, extraTableBlocks: 2500));
        }
        Guard("fp8 prefill h=40 kv=8 d=128", () => Attention(DType.F8E4M3, [(700, 300), (64, 64), (65, 65), (1, 1)], 40, 8, 128, 16));
        Guard("fp8 prefill h=8 kv=2 d=64 block=5", () => Attention(DType.F8E4M3, [(333, 333), (150, 7)], 8, 2, 64, 5));
        if (cuda is CudaBackend c)
        {
            bool ldm = c.UseLdmatrixFlash;
            c.UseLdmatrixFlash = !ldm;
            Guard($"fp8 prefill (ldmatrix {!ldm}) h=40 kv=8 d=128", () => Attention(DType.F8E4M3, [(700, 300), (64, 64)], 40, 8, 128, 16));
            c.UseLdmatrixFlash = ldm;
            c.UseFastAttention = false;
            Guard("fp8 general kernel mixed h=8 kv=2 d=128", () => Attention(DType.F8E4M3, [(300, 1), (70, 23), (129, 128)], 8, 2, 128, 16));
            c.UseFastAttention = true;
            Guard("fused decode in a CUDA graph as the context grows", () => GraphReplay(c));
            c.DecodeUnroll = 4;
            c.DecodeTransposeReduce = false;
            Guard("fp8 decode (unroll 4) batch h=40 kv=8 d=128", () => Attention(DType.F8E4M3, [(3000, 1), (17, 1), (64, 1)], 40, 8, 128, 16));
            Guard("bf16 decode (unroll 4) h=16 kv=2 d=64", () => Attention(DType.BF16, [(1000, 1), (33, 1)], 16, 2, 64, 5));
            c.DecodeUnroll = 8;
            c.DecodeTransposeReduce = false;
            Guard("fp8 decode (per-key reduction) batch h=40 kv=8 d=128", () => Attention(DType.F8E4M3, [(3000, 1), (17, 1), (64, 1), (5, 1)], 40, 8, 128, 16));
            Guard("bf16 decode (per-key reduction) 32K h=40 kv=8 d=128", () => Attention(DType.BF16, [(32768, 1)], 40, 8, 128, 16));
            Guard("bf16 decode (per-key reduction) h=16 kv=2 d=64", () => Attention(DType.BF16, [(1000, 1), (33, 1)], 16, 2, 64, 5));
            Guard("fused decode (per-key reduction) in a CUDA graph", () => GraphReplay(c));
            c.DecodeTransposeReduce = true;
        }
    }

    private void Guard(string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }

    private sealed record Layout(int[] Tables, int MaxBlocks, int NumBlocks, int[] ContextSlots, int[] QueryStarts, int[] SeqLens);

    private Layout Place((int Context, int Query)[] seqs, int blockSize, int extraTableBlocks)
    {
        int[] blocksPerSeq = seqs.Select(s => (s.Context + blockSize - 1) / blockSize).ToArray();
        int maxBlocks = blocksPerSeq.Max() + extraTableBlocks;
        int numBlocks = blocksPerSeq.Sum() + 3;
        int[] ids = Enumerable.Range(0, numBlocks).ToArray();
        random.Shuffle(ids);
        int[] tables = new int[seqs.Length * maxBlocks];
        int next = 0;
        for (int s = 0; s < seqs.Length; s++)
            for (int b = 0; b < blocksPerSeq[s]; b++) tables[s * maxBlocks + b] = ids[next++];
        var slots = new List<int>();
        for (int s = 0; s < seqs.Length; s++)
            for (int p = 0; p < seqs[s].Context; p++) slots.Add(tables[s * maxBlocks + p / blockSize] * blockSize + p % blockSize);
        int[] starts = new int[seqs.Length + 1];
        for (int s = 0; s < seqs.Length; s++) starts[s + 1] = starts[s] + seqs[s].Query;
        return new Layout(tables, maxBlocks, numBlocks, slots.ToArray(), starts, seqs.Select(s => s.Context).ToArray());
    }

    internal void Attention(DType cacheType, (int Context, int Query)[] seqs, int heads, int kvHeads, int headDim, int blockSize, int extraTableBlocks = 0)
    {
        var layout = Place(seqs, blockSize, extraTableBlocks);
        int totalContext = layout.ContextSlots.Length, numTokens = layout.QueryStarts[^1], numSeqs = seqs.Length;
        float[] keys = random.Uniform((long)totalContext * kvHeads * headDim, -2, 2);
        float[] values = random.Uniform((long)totalContext * kvHeads * headDim, -1, 1);
        float[] query = random.Uniform((long)numTokens * heads * headDim, -2, 2);
        float scale = 1f / MathF.Sqrt(headDim);
        var results = new List<(float[] Out, float[] K, float[] V)>();
        foreach (var b in new IBackend[] { _cpu, cuda })
        {
            using var pair = new BackendPair(b, b);
            var cacheShape = new Shape(layout.NumBlocks, blockSize, kvHeads, headDim);
            var cache = new KvCacheLayer(pair.Zeros(b, cacheShape, cacheType), pair.Zeros(b, cacheShape, cacheType));
            var kvShape = new Shape(totalContext, kvHeads, headDim);
            b.WriteKvCache(pair.Activation(b, keys, kvShape), pair.Activation(b, values, kvShape), cache, pair.Ints(b, layout.ContextSlots, new Shape(totalContext)));
            var metadata = new AttentionMetadata
            {
                NumSeqs = numSeqs, NumTokens = numTokens, MaxQueryLen = seqs.Max(s => s.Query), MaxSeqLen = seqs.Max(s => s.Context),
                QueryStartLocs = pair.Ints(b, layout.QueryStarts, new Shape(numSeqs + 1)),
                SeqLens = pair.Ints(b, layout.SeqLens, new Shape(numSeqs)),
                BlockTables = pair.Ints(b, layout.Tables, new Shape(numSeqs, layout.MaxBlocks)),
                SlotMapping = pair.Zeros(b, new Shape(numTokens), DType.I32), Positions = pair.Zeros(b, new Shape(numTokens), DType.I32),
            };
            var output = pair.Zeros(b, new Shape(numTokens, heads, headDim), b.ActivationDType);
            b.Attention(pair.Activation(b, query, new Shape(numTokens, heads, headDim)), cache, metadata, scale, output);
            results.Add((pair.Download(b, output), CacheValues(b, cache.Key), CacheValues(b, cache.Value)));
        }
        string name = $"{(cacheType == DType.F8E4M3 ? "fp8" : "bf16")} seqs={numSeqs} tokens={numTokens} h={heads} kv={kvHeads} d={headDim} block={blockSize} table={layout.MaxBlocks}";
        report.Compare("kv write key " + name, results[0].K, results[1].K, 0, 0);
        report.Compare("kv write value " + name, results[0].V, results[1].V, 0, 0);
        report.Compare("attention " + name, results[0].Out, results[1].Out, 1.6e-2, 4e-3);
    }

    /// <summary>The cache's elements as floats, read raw (fp8 bytes or bf16 bits) from either backend.</summary>
    private static float[] CacheValues(IBackend b, Tensor cache)
    {
        var result = new float[cache.NumElements];
        if (cache.DType == DType.F8E4M3)
        {
            var bytes = new byte[result.Length];
            b.CopyToHost<byte>(cache, bytes);
            for (int i = 0; i < bytes.Length; i++) result[i] = Float8E4M3.ToSingle(bytes[i]);
        }
        else
        {
            var bits = new ushort[result.Length];
            b.CopyToHost<ushort>(cache, bits);
            for (int i = 0; i < bits.Length; i++) result[i] = BFloat16Bits.ToSingle(bits[i]);
        }
        return result;
    }

    /// <summary>
    /// Capture one fused decode launch at context 100, replay it twice (the done-counters must reset), then grow
    /// the context to 4,999 on the device and replay again: the graph must follow, as the engine's decode graphs do.
    /// </summary>
    internal void GraphReplay(CudaBackend c)
    {
        const int Heads = 40, KvHeads = 8, HeadDim = 128, BlockSize = 16, MaxContext = 5000;
        var layout = Place([(MaxContext, 1)], BlockSize, 0);
        float[] keys = random.Uniform((long)MaxContext * KvHeads * HeadDim, -2, 2);
        float[] values = random.Uniform((long)MaxContext * KvHeads * HeadDim, -1, 1);
        float[] query = random.Uniform(Heads * HeadDim, -2, 2);
        using var pair = new BackendPair(c, c);
        var cacheShape = new Shape(layout.NumBlocks, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(pair.Zeros(c, cacheShape, DType.F8E4M3), pair.Zeros(c, cacheShape, DType.F8E4M3));
        var kvShape = new Shape(MaxContext, KvHeads, HeadDim);
        c.WriteKvCache(pair.Activation(c, keys, kvShape), pair.Activation(c, values, kvShape), cache, pair.Ints(c, layout.ContextSlots, new Shape(MaxContext)));
        var seqLens = pair.Ints(c, [100], new Shape(1));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = 1, MaxQueryLen = 1, MaxSeqLen = 100,
            QueryStartLocs = pair.Ints(c, [0, 1], new Shape(2)), SeqLens = seqLens,
            BlockTables = pair.Ints(c, layout.Tables, new Shape(1, layout.MaxBlocks)),
            SlotMapping = pair.Zeros(c, new Shape(1), DType.I32), Positions = pair.Zeros(c, new Shape(1), DType.I32),
        };
        var q = pair.Activation(c, query, new Shape(1, Heads, HeadDim));
        var output = pair.Zeros(c, new Shape(1, Heads, HeadDim), DType.BF16);
        float scale = 1f / MathF.Sqrt(HeadDim);
        c.Attention(q, cache, metadata, scale, output);
        c.Synchronize();
        c.BeginCapture();
        c.Attention(q, cache, metadata, scale, output);
        using var graph = c.EndCapture();
        foreach (int context in new[] { 100, 100, 4999, 4999 })
        {
            c.CopyToDevice<int>(new[] { context }, seqLens);
            c.Replay(graph);
            float[] actual = pair.Download(c, output);
            float[] expected = CpuDecode(keys, values, query, layout, context, Heads, KvHeads, HeadDim, BlockSize, scale);
            report.Compare($"fused decode graph replay fp8 context={context}", expected, actual, 1.6e-2, 4e-3);
        }
    }

    private float[] CpuDecode(float[] keys, float[] values, float[] query, Layout layout, int context, int heads, int kvHeads, int headDim, int blockSize, float scale)
    {
        using var pair = new BackendPair(_cpu, _cpu);
        var cacheShape = new Shape(layout.NumBlocks, blockSize, kvHeads, headDim);
        var cache = new KvCacheLayer(pair.Zeros(_cpu, cacheShape, DType.F8E4M3), pair.Zeros(_cpu, cacheShape, DType.F8E4M3));
        var kvShape = new Shape(layout.ContextSlots.Length, kvHeads, headDim);
        _cpu.WriteKvCache(pair.Activation(_cpu, keys, kvShape), pair.Activation(_cpu, values, kvShape), cache, pair.Ints(_cpu, layout.ContextSlots, new Shape(layout.ContextSlots.Length)));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = 1, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = pair.Ints(_cpu, [0, 1], new Shape(2)), SeqLens = pair.Ints(_cpu, [context], new Shape(1)),
            BlockTables = pair.Ints(_cpu, layout.Tables, new Shape(1, layout.MaxBlocks)),
            SlotMapping = pair.Zeros(_cpu, new Shape(1), DType.I32), Positions = pair.Zeros(_cpu, new Shape(1), DType.I32),
        };
        var output = pair.Zeros(_cpu, new Shape(1, heads, headDim), DType.F32);
        _cpu.Attention(pair.Activation(_cpu, query, new Shape(1, heads, headDim)), cache, metadata, scale, output);
        return pair.Download(_cpu, output);
    }

    public void Dispose() => _cpu.Dispose();
}
