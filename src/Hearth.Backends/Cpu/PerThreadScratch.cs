using System.Runtime.InteropServices;

namespace Hearth.Backends.Cpu;

/// <summary>
/// One growable native buffer per worker-pool thread, for kernels that stage data (e.g. a widened weight chunk).
/// Native, so growing it allocates nothing managed; each buffer grows only on its own thread.
/// </summary>
internal sealed unsafe class PerThreadScratch(int numThreads) : IDisposable
{
    private readonly nint[] _buffers = new nint[numThreads];
    private readonly long[] _sizesBytes = new long[numThreads];

    /// <summary>This thread's buffer of at least sizeBytes, or null on a thread that is not one of the pool's.</summary>
    public float* Get(long sizeBytes)
    {
        int thread = CpuWorkerPool.CurrentThreadIndex;
        // A thread that is not one of this pool's (a nested call run inline elsewhere) does without.
        if ((uint)thread >= (uint)_buffers.Length) return null;
        if (_sizesBytes[thread] < sizeBytes)
        {
            NativeMemory.AlignedFree((void*)_buffers[thread]);
            _buffers[thread] = (nint)NativeMemory.AlignedAlloc((nuint)sizeBytes, CpuBuffer.AlignmentBytes);
            _sizesBytes[thread] = sizeBytes;
        }
        return (float*)_buffers[thread];
    }

    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            NativeMemory.AlignedFree((void*)_buffers[i]);
            _buffers[i] = 0;
            _sizesBytes[i] = 0;
        }
    }
}
