using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    /// <summary>Tests that measure process-wide allocation run alone, after the parallel ones.</summary>
    public const string Name = "cpu-serial";
}

[Collection(SerialCollection.Name)]
public class CpuAllocationTests
{
    [Fact]
    public void Ops_allocate_nothing_in_steady_state()
    {
        using var arena = new TestArena(CpuSimd.Best, numThreads: 3);
        var backend = arena.Backend;
        var random = new Random(1);
        const int tokens = 5, hidden = 96, heads = 4, kvHeads = 2, d = 32, inter = 80, blockSize = 16;
        var x = arena.F32(TestArena.Random(random, tokens * hidden), new Shape(tokens, hidden));
        var residual = arena.F32(TestArena.Random(random, tokens * hidden), new Shape(tokens, hidden));
        var norm = arena.Weights(DType.BF16, TestArena.Random(random, hidden), new Shape(hidden), out _);
        var headNorm = arena.Weights(DType.BF16, TestArena.Random(random, d), new Shape(d), out _);
        var qkvWeight = new LinearWeight(WeightFormat.Dense, [
            arena.Weights(DType.BF16, TestArena.Random(random, heads * d * hidden), new Shape(heads * d, hidden), out _),
            arena.Weights(DType.BF16, TestArena.Random(random, kvHeads * d * hidden), new Shape(kvHeads * d, hidden), out _),
            arena.Weights(DType.BF16, TestArena.Random(random, kvHeads * d * hidden), new Shape(kvHeads * d, hidden), out _),
        ]);
        var gateUpWeight = LinearWeight.Dense(arena.Weights(DType.F16, TestArena.Random(random, 2 * inter * hidden), new Shape(2 * inter, hidden), out _));
        var table = arena.Weights(DType.BF16, TestArena.Random(random, 100 * hidden), new Shape(100, hidden), out _);
        var ids = arena.I32([1, 5, 99, 3, 2], new Shape(tokens));
        var qkv = arena.Zeros(DType.F32, new Shape(tokens, (heads + 2 * kvHeads) * d));
        var q = arena.Zeros(DType.F32, new Shape(tokens, heads, d));
        var k = arena.Zeros(DType.F32, new Shape(tokens, kvHeads, d));
        var v = arena.Zeros(DType.F32, new Shape(tokens, kvHeads, d));
        var attention = arena.Zeros(DType.F32, new Shape(tokens, heads, d));
        var gateUp = arena.Zeros(DType.F32, new Shape(tokens, 2 * inter));
        var act = arena.Zeros(DType.F32, new Shape(tokens, inter));
        var normed = arena.Zeros(DType.F32, new Shape(tokens, hidden));
        var last = arena.Zeros(DType.F32, new Shape(2, hidden));
        var cache = new KvCacheLayer(arena.Zeros(DType.F32, new Shape(4, blockSize, kvHeads, d)), arena.Zeros(DType.F32, new Shape(4, blockSize, kvHeads, d)));
        var rope = new RopeParameters(arena.F32(TestArena.Random(random, d / 2), new Shape(d / 2)), 1f);
        var positions = arena.I32([20, 21, 22, 2, 3], new Shape(tokens));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 2, NumTokens = tokens, MaxQueryLen = 3, MaxSeqLen = 23,
            QueryStartLocs = arena.I32([0, 3, 5], new Shape(3)),
            SeqLens = arena.I32([23, 4], new Shape(2)),
            BlockTables = arena.I32([2, 0, 3, -1], new Shape(2, 2)),
            SlotMapping = arena.I32([2 * 16 + 4, 2 * 16 + 5, 2 * 16 + 6, 3 * 16 + 2, 3 * 16 + 3], new Shape(tokens)),
            Positions = positions,
        };
        var lastRows = arena.I32([2, 4], new Shape(2));
        // Nine rows take the prefill path that widens weight chunks into per-thread scratch.
        var prefillIn = arena.F32(TestArena.Random(random, 9 * hidden), new Shape(9, hidden));
        var prefillOut = arena.Zeros(DType.F32, new Shape(9, 2 * inter));
        var decodeIn = x.SliceRows(0, 1);
        var decodeOut = qkv.SliceRows(0, 1);

        void Step()
        {
            backend.Embedding(table, ids, x);
            backend.AddRmsNorm(residual, x, norm, 1e-6f, normed);
            backend.Linear(normed, qkvWeight, qkv);
            backend.Linear(decodeIn, qkvWeight, decodeOut);
            backend.QkNormRope(qkv, headNorm, headNorm, 1e-6f, positions, rope, q, k, v);
            backend.WriteKvCache(k, v, cache, metadata.SlotMapping);
            backend.Attention(q, cache, metadata, 0.17f, attention);
            backend.Linear(normed, gateUpWeight, gateUp);
            backend.Linear(prefillIn, gateUpWeight, prefillOut);
            backend.SiluMul(gateUp, act);
            backend.RmsNorm(x, norm, 1e-6f, normed);
            backend.Add(x, normed, x);
            backend.GatherRows(normed, lastRows, last);
        }

        // Exact, per thread: the calling thread and the pool's workers allocate nothing over many steps.
        var (caller, workers) = SteadyStateAllocations.Measure(Step, () => backend.WorkerAllocatedBytes);
        Assert.Equal(0, caller);
        Assert.Equal(0, workers);

        // Process-wide: a runtime or test-runner thread may allocate during a window, but an op that allocated
        // would do so in every window, so the quietest of many short windows must be exactly zero.
        long quietest = long.MaxValue;
        for (int window = 0; window < 50 && quietest != 0; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 5; i++) Step();
            quietest = Math.Min(quietest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        Assert.Equal(0, quietest);
    }
}
