using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

public class BlockManagerTests
{
    private static Sequence Prompt(long id, params int[] tokens) => new(id, tokens, 4);

    /// <summary>Admits a sequence's whole prompt the way the scheduler does and pretends it was computed.</summary>
    private static int AdmitAndCompute(BlockManager blocks, Sequence seq)
    {
        var hits = new List<int>();
        int cached = blocks.FindCachedPrefix(seq, hits);
        Assert.True(blocks.TryAllocateSlots(seq, seq.NumTokens - cached, hits));
        seq.NumComputedTokens = seq.NumTokens;
        blocks.CacheFullBlocks(seq);
        return cached;
    }

    [Fact]
    public void LastPromptTokenIsAlwaysRecomputed()
    {
        var blocks = new BlockManager(8, 4);
        AdmitAndCompute(blocks, Prompt(1, 1, 2, 3, 4, 5, 6, 7, 8));
        // The same 8 tokens again: both blocks are cached, but the last token must run to give logits.
        var again = Prompt(2, 1, 2, 3, 4, 5, 6, 7, 8);
        Assert.Equal(4, AdmitAndCompute(blocks, again));
        Assert.Equal(3, blocks.NumUsedBlocks);
        // One more token makes the second block usable.
        Assert.Equal(8, AdmitAndCompute(blocks, Prompt(3, 1, 2, 3, 4, 5, 6, 7, 8, 9)));
    }

    [Fact]
    public void FreedCachedBlocksAreEvictedLeastRecentlyUsedFirstAndHitsLeaveTheFreeList()
    {
        var blocks = new BlockManager(4, 2);
        var a = Prompt(1, 1, 2, 9);
        var b = Prompt(2, 3, 4, 9);
        AdmitAndCompute(blocks, a);
        AdmitAndCompute(blocks, b);
        int aBlock = a.BlockTable[0], bBlock = b.BlockTable[0];
        blocks.Free(a);
        blocks.Free(b);
        Assert.Equal(4, blocks.NumFreeBlocks);
        Assert.Equal(2, blocks.NumCachedBlocks);

        // Taking a's cached block back removes it from the free list without evicting anything.
        var a2 = Prompt(3, 1, 2, 5);
        var hits = new List<int>();
        Assert.Equal(2, blocks.FindCachedPrefix(a2, hits));
        Assert.True(blocks.TryAllocateSlots(a2, 1, hits));
        Assert.Equal(aBlock, a2.BlockTable[0]);
        Assert.Equal(2, blocks.NumFreeBlocks);
        Assert.Equal(2, blocks.NumCachedBlocks);

        // Uncached free blocks go first; then the least recently freed cached block (b's), never a's in use.
        var c = Prompt(4, 7, 7, 7, 7, 7, 7, 7);
        Assert.False(blocks.TryAllocateSlots(c, 7));
        Assert.True(blocks.TryAllocateSlots(c, 4));
        Assert.Contains(bBlock, c.BlockTable);
        Assert.False(blocks.IsCached(bBlock));
        Assert.True(blocks.IsCached(aBlock));
        Assert.Equal(0, blocks.FindCachedPrefix(Prompt(5, 3, 4, 9), hits));
        blocks.CheckConsistency();
    }

    [Fact]
    public void AllocationIsAllOrNothing()
    {
        var blocks = new BlockManager(3, 4);
        var seq = Prompt(1, new int[13]);
        Assert.False(blocks.TryAllocateSlots(seq, 13));
        Assert.Empty(seq.BlockTable);
        Assert.Equal(3, blocks.NumFreeBlocks);
        Assert.True(blocks.TryAllocateSlots(seq, 12));
        Assert.Equal(3, seq.BlockTable.Distinct().Count());
        Assert.Equal(0, blocks.NumFreeBlocks);
    }

    [Fact]
    public void ConstantHashCollisionsAreCaughtByTokenVerification()
    {
        var blocks = new BlockManager(16, 4, enablePrefixCaching: true, hash: (_, _) => 42);
        AdmitAndCompute(blocks, Prompt(1, 1, 2, 3, 4, 5, 6, 7, 8, 9));
        var other = Prompt(2, 9, 9, 9, 9, 5, 6, 7, 8, 9);
        Assert.Equal(0, AdmitAndCompute(blocks, other));
        Assert.True(blocks.NumHashCollisions > 0);
        blocks.CheckConsistency();
    }

    [Fact]
    public void SameBlockTokensUnderADifferentParentAreNotReused()
    {
        // A hash blind to the parent: block [5,6,7,8] hashes the same after [1,2,3,4] and after [9,9,9,9].
        var blocks = new BlockManager(16, 4, enablePrefixCaching: true,
            hash: (_, tokens) => (ulong)tokens[0] * 1000 + (ulong)tokens[^1]);
        var first = Prompt(1, 9, 9, 9, 9, 5, 6, 7, 8, 0);
        AdmitAndCompute(blocks, first);
        AdmitAndCompute(blocks, Prompt(2, 1, 2, 3, 4, 0));
        var probe = Prompt(3, 1, 2, 3, 4, 5, 6, 7, 8, 0);
        var hits = new List<int>();
        Assert.Equal(4, blocks.FindCachedPrefix(probe, hits));
        Assert.DoesNotContain(first.BlockTable[1], hits);
    }

    [Fact]
    public void WeakHashEndToEndKeepsEveryOutputCorrect()
    {
        var config = new SchedulerConfig { BlockSize = 4, NumBlocks = 60, MaxNumBatchedTokens = 64, MaxNumSeqs = 8, MaxModelLen = 128 };
        // 3 buckets for every block: collisions on nearly every lookup.
        var scheduler = new Scheduler(config, (parent, tokens) => (parent + (ulong)tokens[0] + (ulong)tokens[1]) % 3);
        var model = new SimulatedModel(config);
        var rng = new Random(4);
        int[] shared = TestRequests.RandomTokens(rng, 9);
        var seqs = Enumerable.Range(0, 24)
            .Select(i => TestRequests.Make(i, [.. (i % 2 == 0 ? shared : []), .. TestRequests.RandomTokens(rng, rng.Next(1, 20))], rng.Next(1, 20)))
            .ToArray();
        foreach (var seq in seqs) scheduler.Add(seq);
        model.RunToCompletion(scheduler, 2_000, _ => SchedulerInvariants.Check(scheduler, seqs));
        foreach (var seq in seqs) TestRequests.AssertCorrect(seq);
        Assert.True(scheduler.BlockManager.NumHashCollisions > 0);
        Assert.True(scheduler.BlockManager.NumHitBlocks > 0);
        SchedulerInvariants.CheckAllReturned(scheduler);
    }

    [Fact]
    public void PrefixCachingOffNeverShares()
    {
        var blocks = new BlockManager(8, 2, enablePrefixCaching: false);
        AdmitAndCompute(blocks, Prompt(1, 1, 2, 3, 4, 5));
        Assert.Equal(0, AdmitAndCompute(blocks, Prompt(2, 1, 2, 3, 4, 5)));
        Assert.Equal(0, blocks.NumCachedBlocks);
        Assert.Equal(6, blocks.NumUsedBlocks);
    }
}
