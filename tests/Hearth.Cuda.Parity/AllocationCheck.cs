using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The decode loop must not allocate managed memory per op (the contract says ops never allocate, and CUDA
/// graphs later need the same launch sequence every step). Runs one decode-shaped layer of ops repeatedly
/// on CUDA after a warm-up and counts this thread's managed allocations.
/// </summary>
internal static class AllocationCheck
{
    public static void Run(BackendPair pair, ParityReport report, RandomData random)
    {
        IBackend b = pair.Cuda;
        const int Hidden = 256, Heads = 4, KvHeads = 2, HeadDim = 64, Inter = 512, Tokens = 2, BlockSize = 16, Blocks = 8;
        DType act = b.ActivationDType;
        var x = pair.Activation(b, random.Uniform(Tokens * Hidden), new Shape(Tokens, Hidden));
        var normed = pair.Zeros(b, new Shape(Tokens, Hidden), act);
        var norm = pair.Weight(b, random.Uniform(Hidden), new Shape(Hidden), DType.F32);
        var headNorm = pair.Weight(b, random.Uniform(HeadDim), new Shape(HeadDim), DType.F32);
        var qkvWeight = LinearWeight.Dense(
            pair.Weight(b, random.Uniform(Heads * HeadDim * Hidden, -0.1f, 0.1f), new Shape(Heads * HeadDim, Hidden), DType.BF16),
            pair.Weight(b, random.Uniform(KvHeads * HeadDim * Hidden, -0.1f, 0.1f), new Shape(KvHeads * HeadDim, Hidden), DType.BF16),
            pair.Weight(b, random.Uniform(KvHeads * HeadDim * Hidden, -0.1f, 0.1f), new Shape(KvHeads * HeadDim, Hidden), DType.BF16));
        var gateUpWeight = LinearWeight.Dense(pair.Weight(b, random.Uniform(2 * Inter * Hidden, -0.1f, 0.1f), new Shape(2 * Inter, Hidden), DType.BF16));
        var qkv = pair.Zeros(b, new Shape(Tokens, (Heads + 2 * KvHeads) * HeadDim), act);
        var q = pair.Zeros(b, new Shape(Tokens, Heads, HeadDim), act);
        var k = pair.Zeros(b, new Shape(Tokens, KvHeads, HeadDim), act);
        var v = pair.Zeros(b, new Shape(Tokens, KvHeads, HeadDim), act);
        var attention = pair.Zeros(b, new Shape(Tokens, Heads, HeadDim), act);
        var gateUp = pair.Zeros(b, new Shape(Tokens, 2 * Inter), act);
        var activated = pair.Zeros(b, new Shape(Tokens, Inter), act);
        var cacheShape = new Shape(Blocks, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(pair.Zeros(b, cacheShape, act), pair.Zeros(b, cacheShape, act));
        var rope = new RopeParameters(pair.Upload(b, random.Uniform(HeadDim / 2, 0, 1), new Shape(HeadDim / 2), DType.F32), 1f);
        var metadata = new AttentionMetadata
        {
            NumSeqs = 2, NumTokens = 2, MaxQueryLen = 1, MaxSeqLen = 40,
            QueryStartLocs = pair.Ints(b, [0, 1, 2], new Shape(3)), SeqLens = pair.Ints(b, [40, 7], new Shape(2)),
            BlockTables = pair.Ints(b, [0, 1, 2, 3, 4, 5], new Shape(2, 3)), SlotMapping = pair.Ints(b, [39, 54], new Shape(2)),
            Positions = pair.Ints(b, [39, 6], new Shape(2)),
        };

        void Step()
        {
            b.RmsNorm(x, norm, 1e-6f, normed);
            b.Linear(normed, qkvWeight, qkv);
            b.QkNormRope(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v);
            b.WriteKvCache(k, v, cache, metadata.SlotMapping);
            b.Attention(q, cache, metadata, 0.125f, attention);
            b.AddRmsNorm(x, attention.Reshape(new Shape(Tokens, Hidden)), norm, 1e-6f, normed);
            b.Linear(normed, gateUpWeight, gateUp);
            b.SiluMul(gateUp, activated);
            b.Add(x, normed, x);
        }

        for (int i = 0; i < 3; i++) Step();
        b.Synchronize();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        b.Synchronize();
        report.Record(allocated == 0, "no managed allocation in 100 decode-shaped layer steps on cuda", $"{allocated} bytes allocated");
    }
}
