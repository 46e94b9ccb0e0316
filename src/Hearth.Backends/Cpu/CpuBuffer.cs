using System.Runtime.InteropServices;

namespace Hearth.Backends.Cpu;

/// <summary>64-byte-aligned, zeroed native memory. Freed by Dispose only (no finalizer, as DeviceBuffer requires).</summary>
public sealed unsafe class CpuBuffer : DeviceBuffer
{
    public const int AlignmentBytes = 64;

    private nint _data;
    private readonly long _sizeBytes;

    public CpuBuffer(long sizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeBytes);
        // AlignedAlloc(0) may return null; a one-byte block keeps Data valid for empty tensors.
        nuint allocBytes = (nuint)Math.Max(sizeBytes, 1);
        void* p = NativeMemory.AlignedAlloc(allocBytes, AlignmentBytes);
        if (p == null) throw new OutOfMemoryException($"could not allocate {sizeBytes} bytes of CPU memory");
        NativeMemory.Clear(p, allocBytes);
        _data = (nint)p;
        _sizeBytes = sizeBytes;
    }

    public override nint Data
    {
        get
        {
            nint data = Volatile.Read(ref _data);
            ObjectDisposedException.ThrowIf(data == 0, this);
            return data;
        }
    }

    public override long SizeBytes => _sizeBytes;

    public bool IsDisposed => Volatile.Read(ref _data) == 0;

    public override void Dispose()
    {
        nint data = Interlocked.Exchange(ref _data, 0);
        if (data != 0) NativeMemory.AlignedFree((void*)data);
    }
}
