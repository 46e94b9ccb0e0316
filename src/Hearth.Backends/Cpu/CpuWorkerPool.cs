using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Persistent worker threads that, together with the calling thread, run the items of one job at a time.
/// Items are claimed from a 64-bit counter whose high half is the job's generation, so a worker that
/// wakes late can never run an item of a job it did not see published; the caller waits only for the
/// items to be done, not for every worker to wake, and runs items itself meanwhile.
/// </summary>
internal sealed class CpuWorkerPool : IDisposable
{
    // Workers spin this long for the next job before sleeping: ops within a forward pass follow each other
    // within microseconds, and waking a sleeping thread costs far more than that.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5_000; // 200 µs

    private readonly Thread[] _workers;
    private readonly long[] _workerAllocatedBytes; // each worker's GC.GetAllocatedBytesForCurrentThread after its last job
    private readonly object _gate = new();
    private long _claim; // (generation << 32) | next item
    private long _job; // (generation << 32) | number of items
    private IParallelWork? _work;
    private int _itemsDone;
    private int _sleepers;
    private int _running;
    private volatile bool _disposed;
    private Exception? _error;

    public CpuWorkerPool(int numThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numThreads, 1);
        NumThreads = numThreads;
        _workers = new Thread[numThreads - 1];
        _workerAllocatedBytes = new long[_workers.Length];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"hearth-cpu-{i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>0 on the calling thread (any thread that is not a worker), 1..NumThreads-1 on a pool's workers.</summary>
    [ThreadStatic]
    private static int t_threadIndex;

    public static int CurrentThreadIndex => t_threadIndex;

    /// <summary>Threads that run items, the caller included.</summary>
    public int NumThreads { get; }

    /// <summary>Runs work.Execute(0 .. numItems-1) and returns when all are done; rethrows the first failure.</summary>
    public void Run(IParallelWork work, int numItems)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (numItems <= 0) return;
        // A nested or concurrent call runs inline rather than corrupting the job in flight.
        if (numItems == 1 || _workers.Length == 0 || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            for (int i = 0; i < numItems; i++) work.Execute(i);
            return;
        }
        try
        {
            long generation = (Volatile.Read(ref _claim) >> 32) + 1;
            _work = work;
            _itemsDone = 0;
            _error = null;
            Volatile.Write(ref _job, (generation << 32) | (uint)numItems);
            // The exchange is a full fence, so the sleeper count read below is not hoisted above it.
            Interlocked.Exchange(ref _claim, generation << 32);
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_gate) Monitor.PulseAll(_gate);
            }
            RunItems(generation);
            var spin = new SpinWait();
            while (Volatile.Read(ref _itemsDone) < numItems) spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            if (_error is { } error)
            {
                _error = null;
                ExceptionDispatchInfo.Throw(error);
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Claims and runs items until the job has none left; returns the generation last worked on.</summary>
    private long RunItems(long generation)
    {
        while (true)
        {
            long claim = Interlocked.Increment(ref _claim) - 1;
            long claimGeneration = claim >> 32;
            long job = Volatile.Read(ref _job);
            // A stale claim landed on a newer job's counter: that job's item is ours now, run it.
            if (claimGeneration != generation) generation = claimGeneration;
            if (job >> 32 != generation) return generation;
            int item = (int)(uint)claim;
            if (item >= (int)(uint)job) return generation;
            // The item is claimed and not done, so the job (and _work) cannot change under us.
            try
            {
                _work!.Execute(item);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            Interlocked.Increment(ref _itemsDone);
        }
    }

    /// <summary>Managed bytes the worker threads have allocated so far, for tests that ops allocate nothing.</summary>
    public long WorkerAllocatedBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _workerAllocatedBytes.Length; i++) total += Volatile.Read(ref _workerAllocatedBytes[i]);
            return total;
        }
    }

    private void WorkerLoop(int index)
    {
        t_threadIndex = index + 1;
        long seen = 0;
        while (true)
        {
            long generation = WaitForJob(seen);
            if (_disposed) return;
            seen = RunItems(generation);
            Volatile.Write(ref _workerAllocatedBytes[index], GC.GetAllocatedBytesForCurrentThread());
        }
    }

    private long WaitForJob(long seen)
    {
        long start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() - start < SpinTicks)
        {
            long generation = Volatile.Read(ref _claim) >> 32;
            if (generation != seen || _disposed) return generation;
            Thread.SpinWait(8);
        }
        Interlocked.Increment(ref _sleepers);
        try
        {
            lock (_gate)
            {
                while (true)
                {
                    long generation = Volatile.Read(ref _claim) >> 32;
                    if (generation != seen || _disposed) return generation;
                    Monitor.Wait(_gate);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _sleepers);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var worker in _workers) worker.Join();
    }
}
