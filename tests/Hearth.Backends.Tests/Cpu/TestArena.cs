using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>A CPU backend plus the buffers a test allocates from it, all freed together.</summary>
internal sealed unsafe class TestArena : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = new();

    public TestArena(CpuSimdLevel level, int numThreads = 3)
    {
        Backend = new CpuBackend(numThreads, level);
    }

    public CpuBackend Backend { get; }

    public Tensor Zeros(DType dtype, Shape shape)
    {
        var buffer = Backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        _buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    public Tensor F32(float[] values, Shape shape)
    {
        var tensor = Zeros(DType.F32, shape);
        Backend.CopyToDevice<float>(values, tensor);
        return tensor;
    }

    public Tensor I32(int[] values, Shape shape)
    {
        var tensor = Zeros(DType.I32, shape);
        Backend.CopyToDevice<int>(values, tensor);
        return tensor;
    }

    /// <summary>Stores values in dtype and returns the values as stored (rounded), for the reference to use.</summary>
    public Tensor Weights(DType dtype, float[] values, Shape shape, out float[] stored)
    {
        var tensor = Zeros(dtype, shape);
        stored = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case DType.BF16:
                    ushort b = BFloat16Bits.FromSingle(values[i]);
                    ((ushort*)tensor.Data)[i] = b;
                    stored[i] = BFloat16Bits.ToSingle(b);
                    break;
                case DType.F16:
                    Half h = (Half)values[i];
                    ((Half*)tensor.Data)[i] = h;
                    stored[i] = (float)h;
                    break;
                default:
                    ((float*)tensor.Data)[i] = values[i];
                    stored[i] = values[i];
                    break;
            }
        }
        return tensor;
    }

    public float[] Read(Tensor tensor)
    {
        var result = new float[tensor.NumElements];
        Backend.CopyToHost<float>(tensor, result);
        return result;
    }

    public static float[] Random(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        Backend.Dispose();
    }
}
