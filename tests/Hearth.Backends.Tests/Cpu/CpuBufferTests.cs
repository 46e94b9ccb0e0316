using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

public unsafe class CpuBufferTests
{
    [Fact]
    public void Allocate_returns_zeroed_64_byte_aligned_memory()
    {
        using var backend = new CpuBackend(1);
        foreach (long size in new long[] { 1, 63, 4096, 1_000_003 })
        {
            using var buffer = backend.Allocate(size);
            Assert.Equal(size, buffer.SizeBytes);
            Assert.Equal(0, buffer.Data % 64);
            Assert.True(new ReadOnlySpan<byte>((void*)buffer.Data, (int)size).IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void Dispose_frees_once_and_the_buffer_is_unusable_after()
    {
        using var backend = new CpuBackend(1);
        var buffer = (CpuBuffer)backend.Allocate(256);
        buffer.Dispose();
        buffer.Dispose();
        Assert.True(buffer.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => buffer.Data);
    }

    [Fact]
    public void UploadWeight_is_zero_copy_and_copies_round_trip()
    {
        using var backend = new CpuBackend(1);
        Assert.Equal("cpu", backend.Name);
        Assert.Equal(DType.F32, backend.ActivationDType);
        using var buffer = backend.Allocate(16);
        var tensor = buffer.AsTensor(DType.F32, new Shape(4));
        var uploaded = backend.UploadWeight(tensor);
        Assert.Equal(tensor.Data, uploaded.Data);
        Assert.Equal(tensor.Shape, uploaded.Shape);
        backend.CopyToDevice<float>([1f, 2f, 3f, 4f], tensor);
        var back = new float[4];
        backend.Synchronize();
        backend.CopyToHost<float>(tensor, back);
        Assert.Equal([1f, 2f, 3f, 4f], back);
        Assert.Throws<ArgumentException>(() => backend.CopyToDevice<float>(new float[5], tensor));
    }
}
