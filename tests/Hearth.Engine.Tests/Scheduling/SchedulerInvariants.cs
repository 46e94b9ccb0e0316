using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

/// <summary>Checks the block accounting from the outside: every reference is held by exactly one table entry.</summary>
internal static class SchedulerInvariants
{
    public static void Check(Scheduler scheduler, IEnumerable<Sequence> allSequences)
    {
        BlockManager blocks = scheduler.BlockManager;
        blocks.CheckConsistency();
        var holders = new int[blocks.NumBlocks];
        int numRunning = 0, numWaiting = 0;
        foreach (Sequence seq in allSequences)
        {
            var seen = new HashSet<int>();
            foreach (int b in seq.BlockTable)
            {
                Assert.InRange(b, 0, blocks.NumBlocks - 1);
                Assert.True(seen.Add(b), $"Sequence {seq.Id} holds block {b} twice.");
                holders[b]++;
            }
            switch (seq.Status)
            {
                case SequenceStatus.Finished:
                case SequenceStatus.Waiting:
                    Assert.Empty(seq.BlockTable);
                    Assert.Equal(0, seq.Status == SequenceStatus.Waiting ? seq.NumComputedTokens : 0);
                    if (seq.Status == SequenceStatus.Waiting && seq.ArrivalOrder >= 0) numWaiting++;
                    break;
                case SequenceStatus.Running:
                    numRunning++;
                    Assert.InRange(seq.NumComputedTokens, 0, seq.NumTokens - 1);
                    Assert.True(seq.BlockTable.Count >= blocks.BlocksFor(seq.NumComputedTokens), $"Sequence {seq.Id} lacks blocks for its computed tokens.");
                    break;
            }
        }
        int numUnreferenced = 0;
        for (int b = 0; b < blocks.NumBlocks; b++)
        {
            int refCount = blocks.GetRefCount(b);
            Assert.True(refCount >= 0, $"Block {b} has a negative reference count.");
            Assert.True(holders[b] == refCount, $"Block {b} has reference count {refCount} but {holders[b]} sequences hold it.");
            if (refCount == 0) numUnreferenced++;
        }
        Assert.Equal(numUnreferenced, blocks.NumFreeBlocks);
        Assert.Equal(blocks.NumBlocks, blocks.NumFreeBlocks + blocks.NumUsedBlocks);
        Assert.Equal(numRunning, scheduler.NumRunning);
        Assert.Equal(numWaiting, scheduler.NumWaiting);
        Assert.True(scheduler.NumRunning <= scheduler.Config.MaxNumSeqs);
    }

    public static void CheckAllReturned(Scheduler scheduler)
    {
        Assert.False(scheduler.HasUnfinished);
        Assert.Equal(scheduler.BlockManager.NumBlocks, scheduler.BlockManager.NumFreeBlocks);
        scheduler.BlockManager.CheckConsistency();
    }
}
