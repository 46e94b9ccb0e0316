using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Moves the same host values into a backend in its own activation dtype (F32 on the CPU, BF16 on CUDA)
/// and back as floats, and keeps host weight memory alive for the CPU's zero-copy views. Every buffer and
/// host block it hands out is freed by Dispose.
/// </summary>
internal sealed unsafe class BackendPair : IDisposable
{
    private readonly List<IDisposable> _buffers = [];
    private readonly List<nint> _hostBlocks = [];

    public BackendPair(IBackend reference, IBackend cuda)
    {
        Reference = reference;
        Cuda = cuda;
    }

    public IBackend Reference { get; }

    public IBackend Cuda { get; }

    /// <summary>An activation tensor of the backend's dtype holding <paramref name="values"/>.</summary>
    public Tensor Activation(IBackend backend, float[] values, Shape shape) => Upload(backend, values, shape, backend.ActivationDType);

    public Tensor Zeros(IBackend backend, Shape shape, DType dtype)
    {
        var buffer = backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        _buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    public Tensor Upload(IBackend backend, float[] values, Shape shape, DType dtype)
    {
        var tensor = Zeros(backend, shape, dtype);
        switch (dtype)
        {
            case DType.F32: backend.CopyToDevice<float>(values, tensor); break;
            case DType.BF16:
                var bits = new ushort[values.Length];
                for (int i = 0; i < bits.Length; i++) bits[i] = BFloat16Bits.FromSingle(values[i]);
                backend.CopyToDevice<ushort>(bits, tensor);
                break;
            default: throw new ArgumentException($"no float upload to {dtype}");
        }
        return tensor;
    }

    public Tensor Ints(IBackend backend, int[] values, Shape shape)
    {
        var tensor = Zeros(backend, shape, DType.I32);
        backend.CopyToDevice<int>(values, tensor);
        return tensor;
    }

    /// <summary>A host weight tensor (F32, F16 or BF16 in native memory that lives until Dispose) passed through UploadWeight.</summary>
    public Tensor Weight(IBackend backend, float[] values, Shape shape, DType hostDType) =>
        backend.UploadWeight(HostWeight(values, shape, hostDType));

    /// <summary>The parts of one fused projection passed through <see cref="IBackend.UploadFusedWeight"/>.</summary>
    public Tensor[] FusedWeight(IBackend backend, float[][] parts, Shape[] shapes, DType hostDType) =>
        backend.UploadFusedWeight(parts.Select((values, i) => HostWeight(values, shapes[i], hostDType)).ToArray());

    private Tensor HostWeight(float[] values, Shape shape, DType hostDType)
    {
        nint block = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(64, values.Length * hostDType.ElementSizeBytes()), 64);
        _hostBlocks.Add(block);
        if (hostDType == DType.F32) values.CopyTo(new Span<float>((void*)block, values.Length));
        else if (hostDType == DType.F16)
        {
            var halves = new Span<Half>((void*)block, values.Length);
            for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        }
        else
        {
            var bits = new Span<ushort>((void*)block, values.Length);
            for (int i = 0; i < values.Length; i++) bits[i] = BFloat16Bits.FromSingle(values[i]);
        }
        return new Tensor(block, hostDType, shape);
    }

    public float[] Download(IBackend backend, Tensor tensor)
    {
        var result = new float[tensor.NumElements];
        switch (tensor.DType)
        {
            case DType.F32: backend.CopyToHost<float>(tensor, result); break;
            case DType.BF16:
                var bits = new ushort[result.Length];
                backend.CopyToHost<ushort>(tensor, bits);
                for (int i = 0; i < bits.Length; i++) result[i] = BFloat16Bits.ToSingle(bits[i]);
                break;
            default: throw new ArgumentException($"no float download from {tensor.DType}");
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
        foreach (nint block in _hostBlocks) NativeMemory.AlignedFree((void*)block);
        _hostBlocks.Clear();
    }
}
