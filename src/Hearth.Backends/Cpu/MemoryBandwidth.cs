using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Measures the machine's streaming read bandwidth: all threads sum a buffer far larger than the caches
/// with the widest SIMD loads; the best of several passes is reported, as the ceiling GEMV is judged against.
/// </summary>
public static unsafe class MemoryBandwidth
{
    /// <returns>Bytes read per second, in GB/s (10⁹ bytes).</returns>
    public static double MeasureReadGBps(int numThreads = 0, long bufferBytes = 512L << 20, int runs = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        int threads = numThreads == 0 ? Environment.ProcessorCount : numThreads;
        using var buffer = new CpuBuffer(bufferBytes);
        using var pool = new CpuWorkerPool(threads);
        var work = new SumWork((float*)buffer.Data, bufferBytes / sizeof(float), CpuSimd.Best);
        // Writing every page first maps it, so the timed passes measure reads, not page faults.
        new Span<byte>((void*)buffer.Data, (int)Math.Min(bufferBytes, int.MaxValue)).Fill(1);
        for (long offset = int.MaxValue; offset < bufferBytes; offset += int.MaxValue)
            new Span<byte>((byte*)buffer.Data + offset, (int)Math.Min(bufferBytes - offset, int.MaxValue)).Fill(1);
        double best = 0;
        for (int run = 0; run <= runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(work, work.NumItems);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            // The first pass warms the threads and the TLB and is not counted.
            if (run > 0) best = Math.Max(best, bufferBytes / seconds / 1e9);
        }
        GC.KeepAlive(work.Total);
        return best;
    }

    private sealed class SumWork : IParallelWork
    {
        private const long ChunkFloats = 1L << 20; // 4 MiB

        private readonly float* _data;
        private readonly long _count;
        private readonly CpuSimdLevel _level;

        public SumWork(float* data, long count, CpuSimdLevel level)
        {
            _data = data;
            _count = count;
            _level = level;
            NumItems = (int)((count + ChunkFloats - 1) / ChunkFloats);
        }

        public int NumItems { get; }

        /// <summary>Kept so the sums are observable and cannot be optimized away.</summary>
        public float Total;

        public void Execute(int item)
        {
            long start = item * ChunkFloats;
            int n = (int)Math.Min(ChunkFloats, _count - start);
            float sum = _level switch
            {
                CpuSimdLevel.Vector512 => Sum<Simd512, Vector512<float>>(_data + start, n),
                CpuSimdLevel.Vector256 => Sum<Simd256, Vector256<float>>(_data + start, n),
                CpuSimdLevel.Vector128 => Sum<Simd128, Vector128<float>>(_data + start, n),
                _ => Sum<SimdScalar, float>(_data + start, n),
            };
            Total += sum;
        }

        private static float Sum<TS, TV>(float* x, int n) where TS : ISimd<TV> where TV : struct
        {
            int c = TS.Count;
            TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
            int i = 0;
            for (; i + 4 * c <= n; i += 4 * c)
            {
                a0 = TS.Add(a0, TS.Load(x + i));
                a1 = TS.Add(a1, TS.Load(x + i + c));
                a2 = TS.Add(a2, TS.Load(x + i + 2 * c));
                a3 = TS.Add(a3, TS.Load(x + i + 3 * c));
            }
            float sum = TS.Sum(TS.Add(TS.Add(a0, a1), TS.Add(a2, a3)));
            for (; i < n; i++) sum += x[i];
            return sum;
        }
    }
}
