using Hearth.Backends.Cpu;

namespace Hearth.Backends.Tests.Cpu;

public class CpuWorkerPoolTests
{
    private sealed class CountingWork : IParallelWork
    {
        public int[] Hits = [];
        public int FailAt = -1;

        public void Execute(int item)
        {
            if (item == FailAt) throw new InvalidOperationException($"item {item} failed");
            Interlocked.Increment(ref Hits[item]);
        }
    }

    [Fact]
    public void Every_item_runs_exactly_once_across_many_jobs()
    {
        using var pool = new CpuWorkerPool(4);
        var work = new CountingWork();
        var random = new Random(3);
        for (int job = 0; job < 2000; job++)
        {
            int items = random.Next(0, 40);
            work.Hits = new int[items];
            pool.Run(work, items);
            Assert.All(work.Hits, hits => Assert.Equal(1, hits));
        }
    }

    [Fact]
    public void A_failing_item_is_rethrown_and_the_pool_keeps_working()
    {
        using var pool = new CpuWorkerPool(3);
        var work = new CountingWork { Hits = new int[50], FailAt = 17 };
        var error = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 50));
        Assert.Contains("17", error.Message);
        work.FailAt = -1;
        work.Hits = new int[50];
        pool.Run(work, 50);
        Assert.All(work.Hits, hits => Assert.Equal(1, hits));
    }

    [Fact]
    public void Workers_that_fell_asleep_wake_for_the_next_job()
    {
        using var pool = new CpuWorkerPool(3);
        var work = new CountingWork { Hits = new int[8] };
        Thread.Sleep(50); // longer than the spin phase
        pool.Run(work, 8);
        Assert.All(work.Hits, hits => Assert.Equal(1, hits));
    }

    private sealed class NestingWork(CpuWorkerPool pool) : IParallelWork
    {
        public readonly CountingWork Inner = new() { Hits = new int[6 * 5] };

        public void Execute(int item) => pool.Run(new OffsetWork(Inner, item * 5), 5);
    }

    private sealed class OffsetWork(CountingWork inner, int offset) : IParallelWork
    {
        public void Execute(int item) => inner.Execute(offset + item);
    }

    [Fact]
    public void A_nested_run_executes_inline_instead_of_corrupting_the_outer_job()
    {
        using var pool = new CpuWorkerPool(3);
        var work = new NestingWork(pool);
        pool.Run(work, 6);
        Assert.All(work.Inner.Hits, hits => Assert.Equal(1, hits));
    }
}
