using System.Diagnostics;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Bench;

/// <summary>
/// CPU op throughput at Qwen3-0.6B's shapes: the machine's read bandwidth, decode GEMV per projection and
/// for a whole step's linears (28 layers' distinct weights, so nothing is served from cache), prefill GFLOP/s.
/// Args: [--threads N] [--simd Scalar|Vector128|Vector256|Vector512] [--cpu-time true] [--parrot-only true].
/// </summary>
public static unsafe class CpuOpsBench
{
    private const int Hidden = 1024, Heads = 16, KvHeads = 8, HeadDim = 128, Intermediate = 3072, Vocab = 151936, Layers = 28;

    public static int Run(string[] args)
    {
        int threads = 0;
        CpuSimdLevel? simd = null;
        bool parrotOnly = false; // only the parrot fixture's kernels, the load generator's decode step
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--threads") threads = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--simd") simd = Enum.Parse<CpuSimdLevel>(args[i + 1]);
            else if (args[i] == "--cpu-time") s_cpuTime = args[i + 1] == "true";
            else if (args[i] == "--parrot-only") parrotOnly = args[i + 1] == "true";
        }
        using var backend = new CpuBackend(threads, simd);
        Console.WriteLine($"cpu-ops: {backend.NumThreads} threads, {backend.SimdLevel}, {Environment.ProcessorCount} logical CPUs");
        double bandwidth = MemoryBandwidth.MeasureReadGBps(backend.NumThreads);
        Console.WriteLine($"read bandwidth ({backend.NumThreads} threads, 512 MiB, best of 5): {bandwidth:F1} GB/s");

        var buffers = new List<DeviceBuffer>();
        try
        {
            Tensor Weight(int rows, int cols)
            {
                var buffer = backend.Allocate((long)rows * cols * 2);
                buffers.Add(buffer);
                FillBf16((ushort*)buffer.Data, (long)rows * cols, (ulong)buffers.Count);
                return buffer.AsTensor(DType.BF16, new Shape(rows, cols));
            }
            Tensor Activation(int rows, int cols)
            {
                var buffer = backend.Allocate((long)rows * cols * 4);
                buffers.Add(buffer);
                var span = new Span<float>((void*)buffer.Data, rows * cols);
                for (int i = 0; i < span.Length; i++) span[i] = (i % 17 - 8) * 0.01f;
                return buffer.AsTensor(DType.F32, new Shape(rows, cols));
            }

            var x = Activation(64, Intermediate);
            var y = Activation(64, Vocab);
            if (!parrotOnly) ZeroPointSixB(backend, Weight, x, y, bandwidth);

            // The parrot fixture's lm_head (hidden 64): at batch 32 a decode step is this product, so its GFLOP/s
            // bound the load generator's concurrency gain.
            var parrotHead = LinearWeight.Dense(Weight(Vocab, 64));
            foreach (int rows in new[] { 1, 8, 16, 24, 32 })
                LinearRate($"lm_head 64 -> 151936 (parrot), {rows,2} rows", backend, parrotHead, x, y, rows);
            // A greedy decode step picks inside the lm_head (LinearArgMax): 17-32 rows never write their logits.
            var ids = Allocate(backend, buffers, DType.I32, new Shape(64));
            foreach (int rows in new[] { 24, 32 })
                LinearRate($"lm_head 64 -> 151936 (parrot), {rows,2} rows, greedy pick", backend, parrotHead, x, y, rows, ids);

            // The parrot's layer linears over a batch of prompts (32 prompts of 128 tokens): k is 64 or 192, so a
            // kernel that pays a horizontal sum per output is bound by the sums, not by the FMAs.
            var px = Activation(4096, 192);
            var py = Activation(4096, 384);
            foreach (var (name, weight) in new[] { ("gate_up 64 -> 384 ", LinearWeight.Dense(Weight(384, 64))), ("down    192 -> 64 ", LinearWeight.Dense(Weight(64, 192))) })
                LinearRate($"prefill {name}(parrot), 4096 rows", backend, weight, px, py, 4096);

            ParrotDecodeAttentionBench(backend, buffers);
            if (parrotOnly) return 0;
            AttentionBench(backend, buffers, contextTokens: 4096, queryTokens: 1, bandwidth);
            AttentionBench(backend, buffers, contextTokens: 512, queryTokens: 512, bandwidth);
            DispatchBench(backend, buffers);
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
        return 0;
    }

    /// <summary>Qwen3-0.6B's linears: batch-1 GEMVs against the read bandwidth, then batched (prefill) rates.</summary>
    private static void ZeroPointSixB(CpuBackend backend, Func<int, int, Tensor> Weight, Tensor x, Tensor y, double bandwidth)
    {
        var layers = new (LinearWeight Qkv, LinearWeight O, LinearWeight GateUp, LinearWeight Down)[Layers];
        for (int l = 0; l < Layers; l++)
        {
            layers[l] = (
                LinearWeight.Dense(Weight(Heads * HeadDim, Hidden), Weight(KvHeads * HeadDim, Hidden), Weight(KvHeads * HeadDim, Hidden)),
                LinearWeight.Dense(Weight(Hidden, Heads * HeadDim)),
                LinearWeight.Dense(Weight(Intermediate, Hidden), Weight(Intermediate, Hidden)),
                LinearWeight.Dense(Weight(Hidden, Intermediate)));
        }
        var lmHead = LinearWeight.Dense(Weight(Vocab, Hidden));

        Console.WriteLine("decode GEMV, bf16 weights, batch 1 (each layer's own weights, cycled so they come from DRAM):");
        Gemv("qkv     1024 -> 4096  ", backend, layers.Select(l => l.Qkv).ToArray(), x, y, bandwidth);
        Gemv("o       2048 -> 1024  ", backend, layers.Select(l => l.O).ToArray(), x, y, bandwidth);
        Gemv("gate_up 1024 -> 6144  ", backend, layers.Select(l => l.GateUp).ToArray(), x, y, bandwidth);
        Gemv("down    3072 -> 1024  ", backend, layers.Select(l => l.Down).ToArray(), x, y, bandwidth);
        Gemv("lm_head 1024 -> 151936", backend, [lmHead], x, y, bandwidth);

        var step = layers.SelectMany(l => new[] { l.Qkv, l.O, l.GateUp, l.Down }).Append(lmHead).ToArray();
        long stepBytes = step.Sum(w => (long)w.InFeatures * w.OutFeatures * 2);
        double stepSeconds = Time(() => { foreach (var w in step) Linear(backend, w, x, y, 1); }, minSeconds: 2);
        double stepGbps = stepBytes / stepSeconds / 1e9;
        Console.WriteLine($"whole decode step's linears ({stepBytes / 1e6:F0} MB): {stepSeconds * 1e3:F1} ms, {stepGbps:F1} GB/s = {100 * stepGbps / bandwidth:F0}% of read bandwidth");

        foreach (var (name, weight, rows) in new[] { ("gate_up 1024 -> 6144", layers[0].GateUp, 64), ("down    3072 -> 1024", layers[0].Down, 64),
            ("gate_up 1024 -> 6144", layers[0].GateUp, 32), ("down    3072 -> 1024", layers[0].Down, 32), ("gate_up 1024 -> 6144", layers[0].GateUp, 8) })
            LinearRate($"prefill {name}, {rows} rows", backend, weight, x, y, rows);
    }

    /// <summary>One sequence attending over an f32 paged cache (block size 16) at Qwen3-0.6B's head shapes.</summary>
    private static void AttentionBench(CpuBackend backend, List<DeviceBuffer> buffers, int contextTokens, int queryTokens, double bandwidth)
    {
        const int blockSize = 16;
        int blocks = contextTokens / blockSize;
        Tensor Alloc(DType dtype, Shape shape) => Allocate(backend, buffers, dtype, shape);
        var cacheShape = new Shape(blocks, blockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(Alloc(DType.F32, cacheShape), Alloc(DType.F32, cacheShape));
        var random = new Random(1);
        FillRandom(cache.Key, random);
        FillRandom(cache.Value, random);
        var table = Alloc(DType.I32, new Shape(1, blocks));
        for (int b = 0; b < blocks; b++) ((int*)table.Data)[b] = blocks - 1 - b;
        var starts = Alloc(DType.I32, new Shape(2));
        ((int*)starts.Data)[1] = queryTokens;
        var lens = Alloc(DType.I32, new Shape(1));
        ((int*)lens.Data)[0] = contextTokens;
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = queryTokens, MaxQueryLen = queryTokens, MaxSeqLen = contextTokens,
            QueryStartLocs = starts, SeqLens = lens, BlockTables = table,
        };
        var query = Alloc(DType.F32, new Shape(queryTokens, Heads, HeadDim));
        var output = Alloc(DType.F32, new Shape(queryTokens, Heads, HeadDim));
        double seconds = Time(() => backend.Attention(query, cache, metadata, 1f / MathF.Sqrt(HeadDim), output), minSeconds: 1);
        if (queryTokens == 1)
        {
            double gbps = 2.0 * contextTokens * KvHeads * HeadDim * 4 / seconds / 1e9;
            Console.WriteLine($"decode attention, context {contextTokens}, f32 KV: {seconds * 1e6:F1} us per layer, {gbps:F1} GB/s of KV ({100 * gbps / bandwidth:F0}% of read bandwidth)");
        }
        else
        {
            double pairs = (double)queryTokens * (queryTokens + 1) / 2;
            double gflops = 4.0 * Heads * HeadDim * pairs / seconds / 1e9;
            Console.WriteLine($"prefill attention, {queryTokens} tokens causal: {seconds * 1e3:F2} ms per layer, {gflops:F1} GFLOP/s");
        }
    }

    /// <summary>One decode step's attention for 32 parrot sequences (4 heads, 2 kv heads, dim 32) at context 160.</summary>
    private static void ParrotDecodeAttentionBench(CpuBackend backend, List<DeviceBuffer> buffers)
    {
        const int blockSize = 16, seqs = 32, context = 160, heads = 4, kvHeads = 2, dim = 32, layers = 4;
        int blocksPerSeq = context / blockSize, blocks = seqs * blocksPerSeq;
        Tensor Alloc(DType dtype, Shape shape) => Allocate(backend, buffers, dtype, shape);
        // Four layers' caches written with random values and the blocks of a sequence scattered, as the engine's
        // pool hands them out: untouched memory would all read the one zero page and flatter the kernel.
        var cacheShape = new Shape(blocks, blockSize, kvHeads, dim);
        var random = new Random(3);
        var caches = new KvCacheLayer[layers];
        for (int l = 0; l < layers; l++)
        {
            caches[l] = new KvCacheLayer(Alloc(DType.F32, cacheShape), Alloc(DType.F32, cacheShape));
            FillRandom(caches[l].Key, random);
            FillRandom(caches[l].Value, random);
        }
        var table = Alloc(DType.I32, new Shape(seqs, blocksPerSeq));
        var order = Enumerable.Range(0, blocks).ToArray();
        random.Shuffle(order);
        for (int b = 0; b < blocks; b++) ((int*)table.Data)[b] = order[b];
        var starts = Alloc(DType.I32, new Shape(seqs + 1));
        var lens = Alloc(DType.I32, new Shape(seqs));
        for (int s = 0; s < seqs; s++)
        {
            ((int*)starts.Data)[s + 1] = s + 1;
            ((int*)lens.Data)[s] = context;
        }
        var metadata = new AttentionMetadata
        {
            NumSeqs = seqs, NumTokens = seqs, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = starts, SeqLens = lens, BlockTables = table,
        };
        var query = Alloc(DType.F32, new Shape(seqs, heads, dim));
        FillRandom(query, random);
        var output = Alloc(DType.F32, new Shape(seqs, heads, dim));
        double seconds = Time(() => { foreach (var cache in caches) backend.Attention(query, cache, metadata, 1f / MathF.Sqrt(dim), output); }, minSeconds: 1);
        Console.WriteLine($"parrot decode attention, {seqs} sequences x context {context}: {seconds / layers * 1e6:F1} us per layer");
    }

    /// <summary>The fixed cost of an op: a one-row RmsNorm (runs inline) and a tiny Linear (wakes the pool).</summary>
    private static void DispatchBench(CpuBackend backend, List<DeviceBuffer> buffers)
    {
        Tensor Alloc(DType dtype, Shape shape) => Allocate(backend, buffers, dtype, shape);
        var x = Alloc(DType.F32, new Shape(1, Hidden));
        var y = Alloc(DType.F32, new Shape(1, Hidden));
        var norm = Alloc(DType.BF16, new Shape(Hidden));
        var small = LinearWeight.Dense(Alloc(DType.BF16, new Shape(64, 64)));
        var sx = new Tensor(x.Data, DType.F32, new Shape(1, 64));
        var sy = new Tensor(y.Data, DType.F32, new Shape(1, 64));
        double norms = Time(() => { for (int i = 0; i < 1000; i++) backend.RmsNorm(x, norm, 1e-6f, y); }, minSeconds: 0.5) / 1000;
        double linears = Time(() => { for (int i = 0; i < 1000; i++) backend.Linear(sx, small, sy); }, minSeconds: 0.5) / 1000;
        Console.WriteLine($"op overhead: RmsNorm 1x{Hidden} {norms * 1e6:F2} us, Linear 1x64->64 across the pool {linears * 1e6:F2} us");
    }

    private static void Gemv(string name, CpuBackend backend, LinearWeight[] weights, Tensor x, Tensor y, double bandwidth)
    {
        long bytes = (long)weights[0].InFeatures * weights[0].OutFeatures * 2;
        double seconds = Time(() => { foreach (var w in weights) Linear(backend, w, x, y, 1); }, minSeconds: 1) / weights.Length;
        double gbps = bytes / seconds / 1e9;
        Console.WriteLine($"  {name}: {seconds * 1e6,8:F1} us  {gbps,6:F1} GB/s ({100 * gbps / bandwidth:F0}% of read bandwidth)");
    }

    /// <summary>The Linear over the first rows of x into y; with ids, the greedy pick fused into it (LinearArgMax).</summary>
    private static void Linear(CpuBackend backend, LinearWeight weight, Tensor x, Tensor y, int rows, Tensor? ids = null)
    {
        var input = new Tensor(x.Data, DType.F32, new Shape(rows, weight.InFeatures));
        var output = new Tensor(y.Data, DType.F32, new Shape(rows, weight.OutFeatures));
        if (ids is { } picks) backend.LinearArgMax(input, weight, output, picks.SliceRows(0, rows));
        else backend.Linear(input, weight, output);
    }

    // --cpu-time true: charge the process's CPU time instead of wall time, so that kernels can be compared on a
    // machine other work is also using (run with --threads 1).
    private static bool s_cpuTime;

    /// <summary>Every element of an F32 tensor uniform in [-0.5, 0.5).</summary>
    private static void FillRandom(Tensor tensor, Random random)
    {
        var span = new Span<float>((void*)tensor.Data, (int)tensor.NumElements);
        for (int i = 0; i < span.Length; i++) span[i] = (float)random.NextDouble() - 0.5f;
    }

    /// <summary>A tensor of backend memory, freed with the run's other buffers.</summary>
    private static Tensor Allocate(CpuBackend backend, List<DeviceBuffer> buffers, DType dtype, Shape shape)
    {
        var buffer = backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    /// <summary>Times one Linear (with ids: and its greedy pick) over the first rows of x and prints "label: ms, GFLOP/s".</summary>
    private static void LinearRate(string label, CpuBackend backend, LinearWeight weight, Tensor x, Tensor y, int rows, Tensor? ids = null)
    {
        double seconds = Time(() => Linear(backend, weight, x, y, rows, ids), minSeconds: 1);
        double gflops = 2.0 * rows * weight.InFeatures * weight.OutFeatures / seconds / 1e9;
        Console.WriteLine($"{label}: {seconds * 1e3:F2} ms, {gflops:F1} GFLOP/s");
    }

    /// <summary>Mean seconds per call after a warm-up call, over at least minSeconds (or CPU seconds: --cpu-time).</summary>
    private static double Time(Action action, double minSeconds)
    {
        action();
        int calls = 0;
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        do
        {
            action();
            calls++;
        } while (Stopwatch.GetElapsedTime(start).TotalSeconds < minSeconds);
        double wallSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (!s_cpuTime) return wallSeconds / calls;
        process.Refresh();
        return (process.TotalProcessorTime - cpuStart).TotalSeconds / calls;
    }

    /// <summary>Small random bf16 values (|v| in [2^-7, 2^-6)) from a xorshift stream: fast enough for a gigabyte.</summary>
    private static void FillBf16(ushort* data, long count, ulong seed)
    {
        ulong state = 0x9E3779B97F4A7C15UL * (seed + 1);
        for (long i = 0; i < count; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data[i] = (ushort)(((uint)state & 0x807F) | 0x3C00);
        }
    }
}
