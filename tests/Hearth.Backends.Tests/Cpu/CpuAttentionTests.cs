using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public class CpuAttentionTests
{
    public static TheoryData<CpuSimdLevel, int, int> Cases()
    {
        var data = new TheoryData<CpuSimdLevel, int, int>();
        foreach (var level in CpuCases.Levels)
            foreach (int ratio in new[] { 1, 2, 4, 8 })
                foreach (int blockSize in new[] { 16, 5 })
                    data.Add(level, ratio, blockSize);
        return data;
    }

    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    // (cached + new tokens, new tokens): decode, a whole prompt, chunked prefill over a cached prefix, a one-token prompt,
    // and a context long enough to span many blocks and tiles.
    private static readonly (int SeqLen, int QueryLen)[] Sequences = [(37, 1), (20, 20), (50, 7), (1, 1), (150, 3)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attention_matches_a_naive_softmax_over_a_shuffled_paged_cache(CpuSimdLevel level, int ratio, int blockSize)
    {
        var scenario = new AttentionScenario(level, kvHeads: 2, ratio, headDim: 36, blockSize, DType.F32, Sequences, seed: ratio * 100 + blockSize);
        scenario.Check(1e-5);
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Attention_reads_a_bf16_cache(CpuSimdLevel level)
    {
        var scenario = new AttentionScenario(level, kvHeads: 2, ratio: 4, headDim: 64, blockSize: 16, DType.BF16, Sequences, seed: 5);
        scenario.Check(1e-5);
    }

    [Fact]
    public void Attention_at_qwen3_shapes_matches_reference()
    {
        var scenario = new AttentionScenario(CpuSimd.Best, kvHeads: 8, ratio: 2, headDim: 128, blockSize: 16, DType.F32,
            [(300, 1), (64, 64), (90, 10)], seed: 9);
        scenario.Check(1e-5);
    }

    [Fact]
    public void WriteKvCache_writes_each_token_to_its_slot_and_skips_negative_slots()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var keyCache = arena.Zeros(DType.F32, new Shape(3, 4, 1, 2));
        var valueCache = arena.Zeros(DType.F32, new Shape(3, 4, 1, 2));
        var cache = new KvCacheLayer(keyCache, valueCache);
        var key = arena.F32([1, 2, 3, 4, 5, 6], new Shape(3, 1, 2));
        var value = arena.F32([-1, -2, -3, -4, -5, -6], new Shape(3, 1, 2));
        arena.Backend.WriteKvCache(key, value, cache, arena.I32([9, -1, 0], new Shape(3)));
        var k = arena.Read(keyCache);
        var v = arena.Read(valueCache);
        Assert.Equal([5f, 6], k[0..2]);
        Assert.Equal([1f, 2], k[18..20]);
        Assert.Equal([-5f, -6], v[0..2]);
        // The token with slot -1 (values 3, 4) went nowhere: nothing else in the cache changed.
        Assert.Equal(14f, k.Select(Math.Abs).Sum());
        Assert.Throws<ArgumentException>(() => arena.Backend.WriteKvCache(key, value, cache, arena.I32([0, 1, 12], new Shape(3))));
    }

    [Fact]
    public void Attention_rejects_a_block_table_entry_outside_the_cache()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var cache = new KvCacheLayer(arena.Zeros(DType.F32, new Shape(2, 4, 1, 8)), arena.Zeros(DType.F32, new Shape(2, 4, 1, 8)));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1,
            NumTokens = 1,
            QueryStartLocs = arena.I32([0, 1], new Shape(2)),
            SeqLens = arena.I32([6], new Shape(1)),
            BlockTables = arena.I32([1, 2], new Shape(1, 2)),
        };
        var query = arena.Zeros(DType.F32, new Shape(1, 2, 8));
        var error = Assert.Throws<ArgumentException>(() => arena.Backend.Attention(query, cache, metadata, 1f, arena.Zeros(DType.F32, new Shape(1, 2, 8))));
        Assert.Contains("block 2", error.Message);
    }

    [Fact]
    public void Attention_leaves_padding_rows_after_the_last_sequence_untouched()
    {
        using var arena = new TestArena(CpuSimd.Best);
        var cache = new KvCacheLayer(arena.F32(Enumerable.Repeat(0.5f, 16 * 8).ToArray(), new Shape(1, 16, 1, 8)),
            arena.F32(Enumerable.Repeat(2f, 16 * 8).ToArray(), new Shape(1, 16, 1, 8)));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1,
            NumTokens = 1,
            QueryStartLocs = arena.I32([0, 1], new Shape(2)),
            SeqLens = arena.I32([3], new Shape(1)),
            BlockTables = arena.I32([0], new Shape(1, 1)),
        };
        var output = arena.F32(Enumerable.Repeat(-7f, 3 * 2 * 8).ToArray(), new Shape(3, 2, 8));
        arena.Backend.Attention(arena.F32(TestArena.Random(new Random(2), 3 * 2 * 8), new Shape(3, 2, 8)), cache, metadata, 0.3f, output);
        var y = arena.Read(output);
        // Every value is 2, so any softmax over them gives 2; the two padding rows keep their -7.
        Assert.All(y[..16], v => Assert.Equal(2f, v, 5));
        Assert.All(y[16..], v => Assert.Equal(-7f, v));
    }
}
