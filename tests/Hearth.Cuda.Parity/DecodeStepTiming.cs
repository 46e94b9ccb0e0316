using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Whole decode steps of Qwen3-14B's shape at batch 1 and 32 (40 layers sharing one set of zero weights, each layer
/// its own KV cache at context 512, lm_head included), captured once per setting and replayed back to back in one
/// process (<see cref="GraphTiming"/>), so decode settings are ranked without the bench's drift between runs.
/// </summary>
internal static class DecodeStepTiming
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936, Layers = 40;
    private const int Context = 512, BlockSize = 16;

    private sealed record Setting(string Name, int TensorCoreMinSeqs, bool FourBlocks, int BlocksPerSm, bool FuseKvWrite);

    public static void Run(CudaBackend cuda)
    {
        var defaults = new Setting("defaults", cuda.TensorCoreDecodeMinSeqs, cuda.TensorCoreDecodeFourBlocks, cuda.DecodeBlocksPerMultiprocessor, cuda.FuseKvWrite);
        Setting[] settings =
        [
            new("session 4: CUDA-core attention, 4 blocks/SM, kv write unfused", int.MaxValue, true, 4, false),
            new("CUDA-core attention, 8 blocks/SM, kv write unfused", int.MaxValue, true, 8, false),
            new("tensor cores (uncapped registers), 4 blocks/SM, kv write unfused", 1, false, 4, false),
            new("tensor cores, 4 blocks/SM, kv write unfused", 1, true, 4, false),
            new("tensor cores, 8 blocks/SM, kv write unfused", 1, true, 8, false),
            new("tensor cores, 4 blocks/SM, kv write fused", 1, true, 4, true),
            new("CUDA-core attention, 4 blocks/SM, kv write fused", int.MaxValue, true, 4, true),
            defaults,
        ];
        Console.WriteLine("decode step by setting (14B shape, zero weights, context 512, CUDA graph replay):");
        try
        {
            foreach (int batch in new[] { 1, 32 })
            {
                using var memory = new BackendPair(cuda, cuda);
                Action step = BuildStep(cuda, memory, batch);
                foreach (var s in settings)
                {
                    Apply(cuda, s);
                    double seconds = GraphTiming.SecondsPerReplay(cuda, step, replays: 10);
                    Console.WriteLine($"  batch {batch,2}: {seconds * 1e3,7:F3} ms a step = {batch / seconds,7:F1} tok/s  [{s.Name}]");
                }
            }
        }
        finally { Apply(cuda, defaults); }
    }

    private static void Apply(CudaBackend cuda, Setting s)
    {
        cuda.TensorCoreDecodeMinSeqs = s.TensorCoreMinSeqs;
        cuda.TensorCoreDecodeFourBlocks = s.FourBlocks;
        cuda.DecodeBlocksPerMultiprocessor = s.BlocksPerSm;
        cuda.FuseKvWrite = s.FuseKvWrite;
    }

    /// <summary>One decode step; <paramref name="layerWeights"/> (q|k|v, o, gate|up, down) replaces the zero bf16 weights.</summary>
    internal static Action BuildStep(CudaBackend cuda, BackendPair memory, int batch, LinearWeight[]? layerWeights = null) =>
        BuildStep(cuda, memory, batch, out _, layerWeights);

    /// <summary>The step and its logits [batch, vocab] F32.</summary>
    internal static Action BuildStep(CudaBackend cuda, BackendPair memory, int batch, out Tensor logitsOut, LinearWeight[]? layerWeights = null)
    {
        Tensor Z(DType t, params int[] d) => memory.Zeros(cuda, d.Length switch
        {
            1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
        }, t);
        var qkvW = LinearWeight.Dense(Z(DType.BF16, Heads * HeadDim, Hidden), Z(DType.BF16, KvHeads * HeadDim, Hidden), Z(DType.BF16, KvHeads * HeadDim, Hidden));
        var oW = LinearWeight.Dense(Z(DType.BF16, Hidden, Heads * HeadDim));
        var gateUpW = LinearWeight.Dense(Z(DType.BF16, Inter, Hidden), Z(DType.BF16, Inter, Hidden));
        var downW = LinearWeight.Dense(Z(DType.BF16, Hidden, Inter));
        if (layerWeights is not null) (qkvW, oW, gateUpW, downW) = (layerWeights[0], layerWeights[1], layerWeights[2], layerWeights[3]);
        var lmHead = LinearWeight.Dense(Z(DType.BF16, Vocab, Hidden));
        var norm = Z(DType.BF16, Hidden);
        var headNorm = Z(DType.BF16, HeadDim);
        var rope = new RopeParameters(Z(DType.F32, HeadDim / 2), 1f);
        var residual = Z(DType.BF16, batch, Hidden);
        var normed = Z(DType.BF16, batch, Hidden);
        var qkv = Z(DType.BF16, batch, (Heads + 2 * KvHeads) * HeadDim);
        var q = Z(DType.BF16, batch, Heads, HeadDim);
        var k = Z(DType.BF16, batch, KvHeads, HeadDim);
        var v = Z(DType.BF16, batch, KvHeads, HeadDim);
        var attention = Z(DType.BF16, batch, Heads, HeadDim);
        var attentionFlat = attention.Reshape(new Shape(batch, Heads * HeadDim));
        var projected = Z(DType.BF16, batch, Hidden);
        var gateUp = Z(DType.BF16, batch, 2 * Inter);
        var activated = Z(DType.BF16, batch, Inter);
        var logits = Z(DType.F32, batch, Vocab);
        logitsOut = logits;
        int blocksPerSeq = Context / BlockSize + 1;
        var caches = new KvCacheLayer[Layers];
        for (int l = 0; l < Layers; l++)
            caches[l] = new KvCacheLayer(Z(DType.BF16, batch * blocksPerSeq, BlockSize, KvHeads, HeadDim), Z(DType.BF16, batch * blocksPerSeq, BlockSize, KvHeads, HeadDim));
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = Context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Repeat(Context, batch).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, batch * blocksPerSeq).ToArray(), new Shape(batch, blocksPerSeq)),
            SlotMapping = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => s * blocksPerSeq * BlockSize + Context - 1).ToArray(), new Shape(batch)),
            Positions = memory.Ints(cuda, Enumerable.Repeat(Context - 1, batch).ToArray(), new Shape(batch)),
        };
        return () =>
        {
            for (int l = 0; l < Layers; l++)
            {
                cuda.Linear(normed, qkvW, qkv);
                cuda.QkNormRope(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v);
                cuda.WriteKvCache(k, v, caches[l], metadata.SlotMapping);
                cuda.Attention(q, caches[l], metadata, 0.088f, attention);
                cuda.Linear(attentionFlat, oW, projected);
                cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
                cuda.LinearSiluMul(normed, gateUpW, gateUp, activated);   // as Qwen3Model runs it
                cuda.Linear(activated, downW, projected);
                cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
            }
            cuda.Linear(normed, lmHead, logits);
        };
    }
}
