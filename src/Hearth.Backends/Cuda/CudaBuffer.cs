using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

/// <summary>
/// GPU memory with exactly one owner. Disposing frees it; there is no finalizer, because freeing needs the
/// context current on the calling thread, which a finalizer thread cannot promise.
/// </summary>
internal sealed unsafe class CudaBuffer : DeviceBuffer
{
    private readonly CudaDevice _device;
    private nint _data;

    private CudaBuffer(CudaDevice device, nint data, long sizeBytes)
    {
        _device = device;
        _data = data;
        SizeBytes = sizeBytes;
    }

    public override nint Data => _data != 0 ? _data : throw new ObjectDisposedException(nameof(CudaBuffer));

    public override long SizeBytes { get; }

    /// <summary>Zero-filled on the device's stream, so any later op on that stream sees zeros.</summary>
    public static CudaBuffer Allocate(CudaDevice device, long sizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeBytes);
        device.MakeCurrent();
        // cuMemAlloc rejects zero bytes; a tiny buffer keeps empty tensors valid views.
        long allocateBytes = Math.Max(sizeBytes, 256);
        nint data;
        int result = CuDriver.cuMemAlloc(&data, (nuint)allocateBytes);
        if (result != 0)
        {
            var (free, total) = device.MemoryInfo();
            throw new Core.HearthException(CuDriver.Describe(result, "cuMemAlloc_v2")
                + $" allocating {allocateBytes / 1048576.0:F1} MiB with {free / 1048576.0:F0} of {total / 1048576.0:F0} MiB free");
        }
        var buffer = new CudaBuffer(device, data, sizeBytes);
        CuDriver.Check(CuDriver.cuMemsetD8Async(data, 0, (nuint)allocateBytes, device.Stream), "cuMemsetD8Async");
        return buffer;
    }

    public override void Dispose()
    {
        if (_data == 0) return;
        nint data = _data;
        _data = 0;
        // After the backend is gone its context went with it and the memory was released already.
        if (_device.IsDisposed) return;
        _device.MakeCurrent();
        CuDriver.Check(CuDriver.cuMemFree(data), "cuMemFree_v2");
    }
}
