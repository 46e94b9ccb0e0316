using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The session-10 decode kernels (decode_mma.cu _cl: first-round K/V loads before the PDL wait, cluster combine) against
/// the CPU backend: bf16 and fp8 caches, head dims 64 and 128, groups 1, 2, 4, 5, 8, batches 1, 3, 8 and 32, contexts 1
/// to 20,000 (up to 1,024 in one cluster's shared memory, 1,025 on the global combine). Then a CUDA graph of q/k norm + RoPE +
/// KV write followed by the attention, replayed as contexts grow (512 to 4,096): the newest row is written by the kernel right
/// before the attention (stale bytes are planted there first), with a padded sequence, against the CPU and against
/// the session-5 kernel captured the same way.
/// </summary>
internal static class ClusterDecodeChecks
{
    private const int BlockSize = 16;

    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var checks = new Fp8AttentionChecks(cuda, report, random);
        int minSeqs = cuda.TensorCoreDecodeMinSeqs, setting = cuda.DecodeClusterSetting, maxSeqs = cuda.DecodeClusterMaxSeqs;
        bool fp8 = cuda.TensorCoreDecodeFp8;
        cuda.TensorCoreDecodeMinSeqs = 1;
        cuda.TensorCoreDecodeFp8 = true;
        cuda.DecodeClusterMaxSeqs = 64;   // batch 32 too: without a cluster (setting 1), or the session-5 kernels (8)
        (int, int)[] mixed = [(1, 1), (17, 1), (512, 1), (513, 1), (4096, 1), (64, 1)];
        try
        {
            foreach (int clusterSetting in new[] { DecodeClusterPlan.DefaultClusterSize, 1 })
            {
                cuda.DecodeClusterSetting = clusterSetting;
                string how = $"cluster setting {clusterSetting}";
                foreach (var dtype in new[] { DType.BF16, DType.F8E4M3 })
                {
                    string n = dtype == DType.F8E4M3 ? "fp8" : "bf16";
                    foreach (int headDim in new[] { 64, 128 })
                        foreach (int group in new[] { 1, 2, 4, 5, 8 })
                        {
                            int kvHeads = group == 1 ? 4 : 2;
                            Guard(report, $"{n} decode ({how}) group={group} d={headDim}",
                                () => checks.Attention(dtype, mixed, group * kvHeads, kvHeads, headDim, BlockSize));
                        }
                    foreach (int context in new[] { 1, 17, 64, 65, 511, 512, 513, 640, 1024, 1025, 4096, 20000 })
                        Guard(report, $"{n} decode ({how}) batch 1 context {context} h=40 kv=8 d=128",
                            () => checks.Attention(dtype, [(context, 1)], 40, 8, 128, BlockSize, extraTableBlocks: 2560 - (context + BlockSize - 1) / BlockSize));
                    Guard(report, $"{n} decode ({how}) batch 3 h=40 kv=8 d=128 block=5",
                        () => checks.Attention(dtype, [(513, 1), (17, 1), (300, 1)], 40, 8, 128, 5));
                    Guard(report, $"{n} decode ({how}) batch 8 h=40 kv=8 d=128",
                        () => checks.Attention(dtype, Enumerable.Range(0, 8).Select(i => (100 + 60 * i, 1)).ToArray(), 40, 8, 128, BlockSize, extraTableBlocks: 2500));
                    Guard(report, $"{n} decode ({how}) batch 32 h=40 kv=8 d=128",
                        () => checks.Attention(dtype, Enumerable.Range(0, 32).Select(i => (480 + 7 * i, 1)).ToArray(), 40, 8, 128, BlockSize));
                }
            }
            cuda.DecodeClusterSetting = DecodeClusterPlan.DefaultClusterSize;
            foreach (var dtype in new[] { DType.BF16, DType.F8E4M3 })
                foreach (int headDim in new[] { 128, 64 })
                    Guard(report, $"decode graph after the kv write {dtype} d={headDim}", () => GraphAfterKvWrite(cuda, report, random, dtype, headDim));
        }
        finally
        {
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
            cuda.TensorCoreDecodeFp8 = fp8;
            cuda.DecodeClusterSetting = setting;
            cuda.DecodeClusterMaxSeqs = maxSeqs;
        }
    }

    /// <summary>
    /// Batch 3 (sequence 1 padded: seqLen 0, slot -1), h=40 kv=8. One graph per kernel (new, session-5) of
    /// QkNormRopeWriteKv then Attention, replayed at four growing context pairs; before each replay the newest row is
    /// filled with stale values far from what the graph writes, so a kernel that read it before the write would differ.
    /// </summary>
    private static void GraphAfterKvWrite(CudaBackend cuda, ParityReport report, RandomData random, DType cacheType, int headDim)
    {
        const int Heads = 40, KvHeads = 8, Seqs = 3, TableBlocks = 300;
        int width = (Heads + 2 * KvHeads) * headDim;
        (int A, int B)[] steps = [(512, 17), (640, 64), (1025, 511), (4096, 1024)];
        int[] tables = new int[Seqs * TableBlocks];
        int[] ids = Enumerable.Range(0, Seqs * TableBlocks).ToArray();
        random.Shuffle(ids);
        for (int i = 0; i < tables.Length; i++) tables[i] = ids[i];
        int numCacheBlocks = Seqs * TableBlocks;
        int Slot(int s, int p) => tables[s * TableBlocks + p / BlockSize] * BlockSize + p % BlockSize;
        // Every cache row of sequences 0 and 2 up to the longest context, then the stale rows of each step.
        int maxContext = steps.Max(x => Math.Max(x.A, x.B));
        int[] allSlots = Enumerable.Range(0, maxContext).SelectMany(p => new[] { Slot(0, p), Slot(2, p) }).ToArray();
        float[] keys = random.Uniform((long)allSlots.Length * KvHeads * headDim, -2, 2);
        float[] values = random.Uniform((long)allSlots.Length * KvHeads * headDim, -1, 1);
        float[] qNorm = random.Uniform(headDim, 0.5f, 1.5f), kNorm = random.Uniform(headDim, 0.5f, 1.5f);
        float[] invFreq = Enumerable.Range(0, headDim / 2).Select(i => (float)(1.0 / Math.Pow(1_000_000.0, 2.0 * i / headDim))).ToArray();
        float scale = 1f / MathF.Sqrt(headDim);
        using var cpu = new CpuBackend(0);
        using var cpuMemory = new BackendPair(cpu, cpu);
        using var gpuMemory = new BackendPair(cuda, cuda);
        var cacheShape = new Shape(numCacheBlocks, BlockSize, KvHeads, headDim);
        var kvShape = new Shape(allSlots.Length, KvHeads, headDim);
        var gpuCache = new KvCacheLayer(gpuMemory.Zeros(cuda, cacheShape, cacheType), gpuMemory.Zeros(cuda, cacheShape, cacheType));
        cuda.WriteKvCache(gpuMemory.Activation(cuda, keys, kvShape), gpuMemory.Activation(cuda, values, kvShape), gpuCache, gpuMemory.Ints(cuda, allSlots, new Shape(allSlots.Length)));
        var cpuCache = new KvCacheLayer(cpuMemory.Zeros(cpu, cacheShape, cacheType), cpuMemory.Zeros(cpu, cacheShape, cacheType));
        cpu.WriteKvCache(cpuMemory.Activation(cpu, keys, kvShape), cpuMemory.Activation(cpu, values, kvShape), cpuCache, cpuMemory.Ints(cpu, allSlots, new Shape(allSlots.Length)));

        // Device-side step inputs the graphs read (contents change between replays, addresses do not).
        var qkv = gpuMemory.Zeros(cuda, new Shape(Seqs, width), DType.BF16);
        var positions = gpuMemory.Zeros(cuda, new Shape(Seqs), DType.I32);
        var slots = gpuMemory.Zeros(cuda, new Shape(Seqs), DType.I32);
        var seqLens = gpuMemory.Zeros(cuda, new Shape(Seqs), DType.I32);
        var q = gpuMemory.Zeros(cuda, new Shape(Seqs, Heads, headDim), DType.BF16);
        var k = gpuMemory.Zeros(cuda, new Shape(Seqs, KvHeads, headDim), DType.BF16);
        var v = gpuMemory.Zeros(cuda, new Shape(Seqs, KvHeads, headDim), DType.BF16);
        var output = gpuMemory.Zeros(cuda, new Shape(Seqs, Heads, headDim), DType.BF16);
        var qNormGpu = gpuMemory.Weight(cuda, qNorm, new Shape(headDim), DType.F32);
        var kNormGpu = gpuMemory.Weight(cuda, kNorm, new Shape(headDim), DType.F32);
        var rope = new RopeParameters(gpuMemory.Upload(cuda, invFreq, new Shape(invFreq.Length), DType.F32), 1f);
        var metadata = new AttentionMetadata
        {
            NumSeqs = Seqs, NumTokens = Seqs, MaxQueryLen = 1, MaxSeqLen = maxContext,
            QueryStartLocs = gpuMemory.Ints(cuda, [0, 1, 2, 3], new Shape(Seqs + 1)), SeqLens = seqLens,
            BlockTables = gpuMemory.Ints(cuda, tables, new Shape(Seqs, TableBlocks)), SlotMapping = slots, Positions = positions,
        };
        void Step()
        {
            cuda.QkNormRopeWriteKv(qkv, qNormGpu, kNormGpu, 1e-6f, positions, rope, q, k, v, gpuCache, slots);
            cuda.Attention(q, gpuCache, metadata, scale, output);
        }
        var graphs = new List<(string Name, CudaGraph Graph)>();
        try
        {
            foreach (int setting in new[] { DecodeClusterPlan.DefaultClusterSize, 0 })
            {
                cuda.DecodeClusterSetting = setting;
                cuda.BeginForward(Seqs);
                Step();   // eagerly once (every sequence padded yet), as the engine warms a bucket before capturing it
                cuda.Synchronize();
                cuda.BeginCapture();
                Step();
                graphs.Add((setting == 0 ? "session-5 kernel" : "cluster kernel", cuda.EndCapture()));
            }
            cuda.DecodeClusterSetting = DecodeClusterPlan.DefaultClusterSize;
            foreach (var (a, b) in steps)
            {
                int[] lens = [a, 0, b];
                int[] stepPositions = [a - 1, 0, b - 1];
                int[] stepSlots = [Slot(0, a - 1), -1, Slot(2, b - 1)];
                float[] stepQkv = random.Uniform((long)Seqs * width, -2, 2).Select(x => BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(x))).ToArray();
                float[] staleKeys = random.Uniform(2L * KvHeads * headDim, -2, 2), staleValues = random.Uniform(2L * KvHeads * headDim, 20, 40);
                int[] staleSlots = [stepSlots[0], stepSlots[2]];
                var staleShape = new Shape(2, KvHeads, headDim);
                float[]? first = null;
                foreach (var (name, graph) in graphs)
                {
                    cuda.WriteKvCache(gpuMemory.Activation(cuda, staleKeys, staleShape), gpuMemory.Activation(cuda, staleValues, staleShape), gpuCache, gpuMemory.Ints(cuda, staleSlots, new Shape(2)));
                    cuda.CopyToDevice<int>(lens, seqLens);
                    cuda.CopyToDevice<int>(stepPositions, positions);
                    cuda.CopyToDevice<int>(stepSlots, slots);
                    cuda.CopyToDevice<ushort>(stepQkv.Select(BFloat16Bits.FromSingle).ToArray(), qkv);
                    cuda.Replay(graph);
                    float[] actual = gpuMemory.Download(cuda, output);
                    string label = $"{cacheType} d={headDim} contexts {a}/0/{b} ({name})";
                    report.Compare($"decode graph after the kv write, padded row zero, {label}", new float[Heads * headDim], actual.AsSpan(Heads * headDim, Heads * headDim), 0, 0);
                    float[] expected = CpuStep(cpu, cpuMemory, cpuCache, stepQkv, qNorm, kNorm, invFreq, [a, b], [a - 1, b - 1], staleSlots, tables, TableBlocks, Heads, KvHeads, headDim, scale);
                    float[] live = [.. actual.AsSpan(0, Heads * headDim), .. actual.AsSpan(2 * Heads * headDim, Heads * headDim)];
                    // fp8: the CPU rounds the newest key and value from f32, CUDA from its bf16 activations, one e4m3 step
                    // (12.5 %) apart at most, on one row of 17 (measured 0.024 of max|ref|); a stale row would be 30 of 17.
                    report.Compare($"decode graph after the kv write vs cpu, {label}", expected, live, 1.6e-2, cacheType == DType.F8E4M3 ? 3e-2 : 6e-3);
                    if (first is null) first = actual;
                    else report.Compare($"decode graph after the kv write, cluster kernel vs session-5 kernel, {cacheType} d={headDim} contexts {a}/0/{b}", first, actual, 1e-2, 2e-3);
                }
            }
        }
        finally
        {
            foreach (var (_, graph) in graphs) graph.Dispose();
        }
    }

    /// <summary>The CPU's q/k norm + RoPE + KV write (into its persistent cache) and decode attention for the two live sequences.</summary>
    private static float[] CpuStep(CpuBackend cpu, BackendPair memory, KvCacheLayer cache, float[] qkv3, float[] qNorm, float[] kNorm, float[] invFreq,
        int[] lens, int[] positions, int[] slots, int[] tables3, int tableBlocks, int heads, int kvHeads, int headDim, float scale)
    {
        int width = (heads + 2 * kvHeads) * headDim;
        float[] qkv = [.. qkv3.AsSpan(0, width), .. qkv3.AsSpan(2 * width, width)];
        int[] tables = [.. tables3.AsSpan(0, tableBlocks), .. tables3.AsSpan(2 * tableBlocks, tableBlocks)];
        var q = memory.Zeros(cpu, new Shape(2, heads, headDim), cpu.ActivationDType);
        var k = memory.Zeros(cpu, new Shape(2, kvHeads, headDim), cpu.ActivationDType);
        var v = memory.Zeros(cpu, new Shape(2, kvHeads, headDim), cpu.ActivationDType);
        var rope = new RopeParameters(memory.Upload(cpu, invFreq, new Shape(invFreq.Length), DType.F32), 1f);
        ((IBackend)cpu).QkNormRopeWriteKv(memory.Activation(cpu, qkv, new Shape(2, width)), memory.Weight(cpu, qNorm, new Shape(headDim), DType.F32),
            memory.Weight(cpu, kNorm, new Shape(headDim), DType.F32), 1e-6f, memory.Ints(cpu, positions, new Shape(2)), rope, q, k, v, cache,
            memory.Ints(cpu, slots, new Shape(2)));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 2, NumTokens = 2, MaxQueryLen = 1, MaxSeqLen = lens.Max(),
            QueryStartLocs = memory.Ints(cpu, [0, 1, 2], new Shape(3)), SeqLens = memory.Ints(cpu, lens, new Shape(2)),
            BlockTables = memory.Ints(cpu, tables, new Shape(2, tableBlocks)),
            SlotMapping = memory.Ints(cpu, slots, new Shape(2)), Positions = memory.Ints(cpu, positions, new Shape(2)),
        };
        var output = memory.Zeros(cpu, new Shape(2, heads, headDim), DType.F32);
        cpu.Attention(q, cache, metadata, scale, output);
        return memory.Download(cpu, output);
    }

    private static void Guard(ParityReport report, string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }
}
