using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Runs one quantized linear (or linear + SiLU·mul) on the CPU reference backend and on CUDA, through buffers it owns
/// until Dispose: the plumbing the quantized checks (QuantChecks, QuantSiluChecks, QuantWideChecks, GgufMixChecks)
/// share. The CPU takes x as given (F32); CUDA takes x rounded to bf16, so callers pass bf16-exact inputs.
/// </summary>
internal sealed class QuantLinearRunner(CudaBackend cuda) : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = [];

    public CpuBackend Cpu { get; } = new();

    public Tensor Buffer(IBackend backend, DType dtype, Shape shape)
    {
        var buffer = backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
        _buffers.Add(buffer);
        return buffer.AsTensor(dtype, shape);
    }

    /// <summary>x [rows, in] · Wᵀ on the CPU backend, F32.</summary>
    public float[] CpuLinear(LinearWeight weight, float[] x, int rows)
    {
        var output = Buffer(Cpu, DType.F32, new Shape(rows, weight.OutFeatures));
        Cpu.Linear(CpuInput(weight, x, rows), weight, output);
        var result = new float[output.NumElements];
        Cpu.CopyToHost<float>(output, result);
        return result;
    }

    /// <summary>x [rows, in] · Wᵀ on CUDA into an F32 or bf16 output, returned as floats.</summary>
    public float[] CudaLinear(LinearWeight weight, float[] x, int rows, DType outputDType = DType.F32)
    {
        var output = Buffer(cuda, outputDType, new Shape(rows, weight.OutFeatures));
        cuda.Linear(CudaInput(weight, x, rows), weight, output);
        var result = new float[output.NumElements];
        if (outputDType == DType.F32)
        {
            cuda.CopyToHost<float>(output, result);
            return result;
        }
        var bits = new ushort[output.NumElements];
        cuda.CopyToHost<ushort>(output, bits);
        for (int i = 0; i < bits.Length; i++) result[i] = BFloat16Bits.ToSingle(bits[i]);
        return result;
    }

    /// <summary>IBackend.LinearSiluMul on the CPU backend: silu(gate)·up [rows, inter], F32.</summary>
    public float[] CpuLinearSiluMul(LinearWeight gateUp, float[] x, int rows, int inter)
    {
        var scratch = Buffer(Cpu, DType.F32, new Shape(rows, 2 * inter));
        var output = Buffer(Cpu, DType.F32, new Shape(rows, inter));
        ((IBackend)Cpu).LinearSiluMul(CpuInput(gateUp, x, rows), gateUp, scratch, output);
        var result = new float[output.NumElements];
        Cpu.CopyToHost<float>(output, result);
        return result;
    }

    /// <summary>IBackend.LinearSiluMul on CUDA: the bf16 bits of silu(gate)·up [rows, inter], for bit-for-bit checks.</summary>
    public ushort[] CudaLinearSiluMul(LinearWeight gateUp, float[] x, int rows, int inter)
    {
        var scratch = Buffer(cuda, DType.BF16, new Shape(rows, 2 * inter));
        var output = Buffer(cuda, DType.BF16, new Shape(rows, inter));
        cuda.LinearSiluMul(CudaInput(gateUp, x, rows), gateUp, scratch, output);
        var result = new ushort[output.NumElements];
        cuda.CopyToHost<ushort>(output, result);
        return result;
    }

    private Tensor CpuInput(LinearWeight weight, float[] x, int rows)
    {
        var input = Buffer(Cpu, DType.F32, new Shape(rows, weight.InFeatures));
        Cpu.CopyToDevice<float>(x, input);
        return input;
    }

    private Tensor CudaInput(LinearWeight weight, float[] x, int rows)
    {
        var input = Buffer(cuda, DType.BF16, new Shape(rows, weight.InFeatures));
        cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
        return input;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
        Cpu.Dispose();
    }
}
