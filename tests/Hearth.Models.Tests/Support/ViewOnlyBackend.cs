using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Models.Tests.Support;

/// <summary>
/// A loader-test backend: UploadWeight hands back the host view (as the CPU backend does) and records it,
/// memory is plain native memory, and every compute op throws, since loading must never run one.
/// </summary>
internal sealed class ViewOnlyBackend : IBackend
{
    public List<Tensor> Uploaded { get; } = [];

    public List<NativeBuffer> Allocated { get; } = [];

    public string Name => "view-only-test";

    public DType ActivationDType => DType.F32;

    public DeviceBuffer Allocate(long sizeBytes)
    {
        var buffer = new NativeBuffer(sizeBytes);
        Allocated.Add(buffer);
        return buffer;
    }

    public Tensor UploadWeight(Tensor host)
    {
        Uploaded.Add(host);
        return host;
    }

    public unsafe void CopyToDevice<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(source);
        if (bytes.Length != destination.SizeBytes)
            throw new ArgumentException($"copying {bytes.Length} bytes into {destination.SizeBytes}");
        bytes.CopyTo(new Span<byte>((void*)destination.Data, bytes.Length));
    }

    public void CopyToHost<T>(Tensor source, Span<T> destination) where T : unmanaged => throw new NotSupportedException();
    public void Synchronize() { }
    public void Embedding(Tensor table, Tensor tokenIds, Tensor output) => throw new NotSupportedException();
    public void RmsNorm(Tensor input, Tensor weight, float epsilon, Tensor output) => throw new NotSupportedException();
    public void AddRmsNorm(Tensor residual, Tensor input, Tensor weight, float epsilon, Tensor output) => throw new NotSupportedException();
    public void Linear(Tensor input, LinearWeight weight, Tensor output) => throw new NotSupportedException();

    public void QkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value) => throw new NotSupportedException();

    public void WriteKvCache(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping) => throw new NotSupportedException();
    public void Attention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output) => throw new NotSupportedException();
    public void SiluMul(Tensor gateUp, Tensor output) => throw new NotSupportedException();
    public void Add(Tensor a, Tensor b, Tensor output) => throw new NotSupportedException();
    public void GatherRows(Tensor input, Tensor rows, Tensor output) => throw new NotSupportedException();

    public void Dispose()
    {
        foreach (var buffer in Allocated) buffer.Dispose();
    }

    internal sealed unsafe class NativeBuffer(long sizeBytes) : DeviceBuffer
    {
        private void* _data = NativeMemory.AllocZeroed((nuint)Math.Max(sizeBytes, 1));

        public bool IsDisposed => _data == null;

        public override nint Data => (nint)_data;

        public override long SizeBytes { get; } = sizeBytes;

        public override void Dispose()
        {
            if (_data == null) return;
            NativeMemory.Free(_data);
            _data = null;
        }
    }
}
