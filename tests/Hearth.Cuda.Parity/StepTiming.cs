using System.Diagnostics;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// One batch-1 decode step of Qwen3-14B's shape (40 layers sharing one set of zero weights, 512-token context),
/// timed eagerly, replayed from a CUDA graph, and op by op, to show where a step's time goes.
/// </summary>
internal static class StepTiming
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936, Layers = 40;

    public static void Run(CudaBackend cuda)
    {
        using var memory = new BackendPair(cuda, cuda);
        Tensor Z(DType t, params int[] d) => memory.Zeros(cuda, d.Length switch
        {
            1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
        }, t);
        Tensor[] layerWeights =
        [
            Z(DType.BF16, Heads * HeadDim, Hidden), Z(DType.BF16, KvHeads * HeadDim, Hidden), Z(DType.BF16, KvHeads * HeadDim, Hidden),
            Z(DType.BF16, Hidden, Heads * HeadDim), Z(DType.BF16, Inter, Hidden), Z(DType.BF16, Inter, Hidden), Z(DType.BF16, Hidden, Inter),
        ];
        var qkvW = LinearWeight.Dense(layerWeights[0], layerWeights[1], layerWeights[2]);
        var oW = LinearWeight.Dense(layerWeights[3]);
        var gateUpW = LinearWeight.Dense(layerWeights[4], layerWeights[5]);
        var downW = LinearWeight.Dense(layerWeights[6]);
        var lmHead = LinearWeight.Dense(Z(DType.BF16, Vocab, Hidden));
        var norm = Z(DType.BF16, Hidden);
        var headNorm = Z(DType.BF16, HeadDim);
        var rope = new RopeParameters(Z(DType.F32, HeadDim / 2), 1f);
        var residual = Z(DType.BF16, 1, Hidden);
        var normed = Z(DType.BF16, 1, Hidden);
        var qkv = Z(DType.BF16, 1, (Heads + 2 * KvHeads) * HeadDim);
        var q = Z(DType.BF16, 1, Heads, HeadDim);
        var k = Z(DType.BF16, 1, KvHeads, HeadDim);
        var v = Z(DType.BF16, 1, KvHeads, HeadDim);
        var attention = Z(DType.BF16, 1, Heads, HeadDim);
        var projected = Z(DType.BF16, 1, Hidden);
        var gateUp = Z(DType.BF16, 1, 2 * Inter);
        var activated = Z(DType.BF16, 1, Inter);
        var logits = Z(DType.F32, 1, Vocab);
        const int Context = 512, BlockSize = 16, MaxBlocks = 129;
        var cache = new KvCacheLayer(Z(DType.BF16, MaxBlocks, BlockSize, KvHeads, HeadDim), Z(DType.BF16, MaxBlocks, BlockSize, KvHeads, HeadDim));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = 1, MaxQueryLen = 1, MaxSeqLen = Context,
            QueryStartLocs = memory.Ints(cuda, [0, 1], new Shape(2)),
            SeqLens = memory.Ints(cuda, [Context], new Shape(1)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, MaxBlocks).ToArray(), new Shape(1, MaxBlocks)),
            SlotMapping = memory.Ints(cuda, [Context - 1], new Shape(1)),
            Positions = memory.Ints(cuda, [Context - 1], new Shape(1)),
        };
        var attentionFlat = attention.Reshape(new Shape(1, Heads * HeadDim));
        (string Name, Action Op)[] ops =
        [
            ("qkv", () => cuda.Linear(normed, qkvW, qkv)),
            ("qk_norm_rope", () => cuda.QkNormRope(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v)),
            ("write_kv", () => cuda.WriteKvCache(k, v, cache, metadata.SlotMapping)),
            ("attention", () => cuda.Attention(q, cache, metadata, 0.088f, attention)),
            ("o", () => cuda.Linear(attentionFlat, oW, projected)),
            ("add_rms_norm", () => cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed)),
            ("gate_up", () => cuda.Linear(normed, gateUpW, gateUp)),
            ("silu_mul", () => cuda.SiluMul(gateUp, activated)),
            ("down", () => cuda.Linear(activated, downW, projected)),
            ("add_rms_norm", () => cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed)),
        ];
        void Step()
        {
            for (int layer = 0; layer < Layers; layer++)
                foreach (var (_, op) in ops) op();
            cuda.Linear(normed, lmHead, logits);
        }

        double eager = Time(cuda, Step, 20);
        cuda.BeginCapture();
        Step();
        using var graph = cuda.EndCapture();
        double replay = Time(cuda, () => cuda.Replay(graph), 20);
        Console.WriteLine($"decode step (14B shape, batch 1, context {Context}): eager {eager * 1e3:F2} ms, graph replay {replay * 1e3:F2} ms (pipelined)");
        // As the engine runs it: one step at a time, waiting for its result.
        var hostLogits = new float[Vocab];
        var ids = Z(DType.I32, 4);
        var hostIds = new int[1];
        double launchCpu = 0, replaySync = 0, replayLogits = 0, replayArgMax = 0, eagerSync = 0;
        const int Steps = 10;
        for (int i = 0; i < Steps; i++)
        {
            var watch = Stopwatch.StartNew();
            cuda.Replay(graph);
            launchCpu += watch.Elapsed.TotalSeconds;
            cuda.Synchronize();
            replaySync += watch.Elapsed.TotalSeconds;
            watch.Restart();
            cuda.Replay(graph);
            cuda.CopyToHost<float>(logits, hostLogits);
            replayLogits += watch.Elapsed.TotalSeconds;
            watch.Restart();
            cuda.Replay(graph);
            cuda.ArgMaxRows(logits, ids);
            cuda.CopyToHost<int>(ids, hostIds);
            replayArgMax += watch.Elapsed.TotalSeconds;
            watch.Restart();
            Step();
            cuda.Synchronize();
            eagerSync += watch.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"  one step at a time: graph launch {launchCpu / Steps * 1e3:F3} ms of CPU, replay+sync {replaySync / Steps * 1e3:F2} ms, "
            + $"+logits to host {replayLogits / Steps * 1e3:F2} ms, +argmax on GPU {replayArgMax / Steps * 1e3:F2} ms; eager+sync {eagerSync / Steps * 1e3:F2} ms");
        foreach (var (name, op) in ops)
            Console.WriteLine($"  {name,-13} {Time(cuda, op, 200) * 1e6,8:F1} us each (x{Layers})");
        Console.WriteLine($"  logits to host {Time(cuda, () => cuda.CopyToHost<float>(logits, hostLogits), 50) * 1e6,8:F1} us");
        Prefill(cuda, memory, qkvW, oW, gateUpW, downW, norm, headNorm, rope, null);
        // Tensor cores draw more power on random bits than on zeros (and clock down): the same prefill on random
        // weights, norms and activations is what a real model (and the bench's random-weight model) costs.
        var random = new Random(7);
        foreach (var w in layerWeights) FillRandom(cuda, w, random, 0.02f);
        FillRandom(cuda, norm, random, 1f);
        FillRandom(cuda, headNorm, random, 1f);
        Prefill(cuda, memory, qkvW, oW, gateUpW, downW, norm, headNorm, rope, random);
    }

    private static void FillRandom(CudaBackend cuda, Tensor tensor, Random random, float scale)
    {
        var bits = new ushort[tensor.NumElements];
        for (int i = 0; i < bits.Length; i++) bits[i] = Hearth.Core.BFloat16Bits.FromSingle(scale * (2 * random.NextSingle() - 1));
        cuda.CopyToDevice<ushort>(bits, tensor);
    }

    /// <summary>The same layers for one 2048-token prompt (no cached prefix), eagerly, op by op.</summary>
    private static void Prefill(CudaBackend cuda, BackendPair memory, LinearWeight qkvW, LinearWeight oW, LinearWeight gateUpW, LinearWeight downW,
        Tensor norm, Tensor headNorm, RopeParameters rope, Random? random)
    {
        const int T = 2048, BlockSize = 16;
        Tensor Z(DType t, int d0, int d1) => memory.Zeros(cuda, new Shape(d0, d1), t);
        var residual = Z(DType.BF16, T, Hidden);
        var normed = Z(DType.BF16, T, Hidden);
        var qkv = Z(DType.BF16, T, (Heads + 2 * KvHeads) * HeadDim);
        var q = memory.Zeros(cuda, new Shape(T, Heads, HeadDim), DType.BF16);
        var k = memory.Zeros(cuda, new Shape(T, KvHeads, HeadDim), DType.BF16);
        var v = memory.Zeros(cuda, new Shape(T, KvHeads, HeadDim), DType.BF16);
        var attention = memory.Zeros(cuda, new Shape(T, Heads, HeadDim), DType.BF16);
        var projected = Z(DType.BF16, T, Hidden);
        var gateUp = Z(DType.BF16, T, 2 * Inter);
        var activated = Z(DType.BF16, T, Inter);
        var cacheShape = new Shape(T / BlockSize, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, DType.BF16), memory.Zeros(cuda, cacheShape, DType.BF16));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = T, MaxQueryLen = T, MaxSeqLen = T,
            QueryStartLocs = memory.Ints(cuda, [0, T], new Shape(2)),
            SeqLens = memory.Ints(cuda, [T], new Shape(1)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, T / BlockSize).ToArray(), new Shape(1, T / BlockSize)),
            SlotMapping = memory.Ints(cuda, Enumerable.Range(0, T).ToArray(), new Shape(T)),
            Positions = memory.Ints(cuda, Enumerable.Range(0, T).ToArray(), new Shape(T)),
        };
        if (random is not null)
            foreach (var t in new[] { residual, normed }) FillRandom(cuda, t, random, 1f);
        var attentionFlat = attention.Reshape(new Shape(T, Heads * HeadDim));
        (string Name, Action Op)[] ops =
        [
            ("qkv", () => cuda.Linear(normed, qkvW, qkv)),
            ("qk_norm_rope", () => cuda.QkNormRope(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v)),
            ("write_kv", () => cuda.WriteKvCache(k, v, cache, metadata.SlotMapping)),
            ("attention", () => cuda.Attention(q, cache, metadata, 0.088f, attention)),
            ("o", () => cuda.Linear(attentionFlat, oW, projected)),
            ("add_rms_norm", () => cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed)),
            ("gate_up", () => cuda.Linear(normed, gateUpW, gateUp)),
            ("silu_mul", () => cuda.SiluMul(gateUp, activated)),
            ("down", () => cuda.Linear(activated, downW, projected)),
            ("add_rms_norm", () => cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed)),
        ];
        double total = Time(cuda, () =>
        {
            for (int layer = 0; layer < Layers; layer++)
                foreach (var (_, op) in ops) op();
        }, 3);
        Console.WriteLine($"prefill of {T} tokens, 40 layers (no lm_head), {(random is null ? "zero" : "random")} weights: {total * 1e3:F1} ms = {T / total:F0} tok/s");
        foreach (var (name, op) in ops)
            Console.WriteLine($"  {name,-13} {Time(cuda, op, 10) * 1e6,8:F1} us each (x{Layers})");
    }

    private static double Time(IBackend backend, Action op, int iterations)
    {
        op();
        backend.Synchronize();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) op();
        backend.Synchronize();
        return watch.Elapsed.TotalSeconds / iterations;
    }
}
