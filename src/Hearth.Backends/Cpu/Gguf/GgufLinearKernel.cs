using System.Runtime.Intrinsics.X86;
using Hearth.Backends.Cpu.Quant;
using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// Matmul over raw GGUF blocks (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K): each block's integers are widened to f32 in
/// registers and multiplied with the f32 input, one scale multiply per (sub-)block. Offsets (Q4_0's 8, the
/// K-quants' mins, Q6_K's 32) enter through sums of x per 16 inputs, computed once per input row in the
/// preparation step, so the inner loop is pure multiply-add. The input stays f32 (no int8 activation
/// quantization), so the kernels add no error of their own. AVX2+FMA path; elsewhere a scalar path that
/// decodes one block at a time into a stack buffer.
/// </summary>
internal sealed unsafe class GgufLinearKernel : IQuantizedLinearKernel
{
    private const int SumSpan = 16;

    public static readonly GgufLinearKernel Q8_0 = new(WeightFormat.Q8_0);
    public static readonly GgufLinearKernel Q4_0 = new(WeightFormat.Q4_0);
    public static readonly GgufLinearKernel Q4_K = new(WeightFormat.Q4_K);
    public static readonly GgufLinearKernel Q5_K = new(WeightFormat.Q5_K);
    public static readonly GgufLinearKernel Q6_K = new(WeightFormat.Q6_K);

    private readonly WeightFormat _format;
    private readonly GgufTensorType _type;

    private GgufLinearKernel(WeightFormat format)
    {
        _format = format;
        _type = GgufWeightFormats.ToTensorType(format);
    }

    /// <summary>The kernel of a GGUF block format, or null for other formats.</summary>
    public static GgufLinearKernel? For(WeightFormat format) => format switch
    {
        WeightFormat.Q8_0 => Q8_0,
        WeightFormat.Q4_0 => Q4_0,
        WeightFormat.Q4_K => Q4_K,
        WeightFormat.Q5_K => Q5_K,
        WeightFormat.Q6_K => Q6_K,
        _ => null,
    };

    public void Check(QuantizedMatrix part)
    {
        if (part.Format != _format) throw new ArgumentException($"{part} is not {_format}");
        if (part.InFeatures % part.Format.GgufBlockElements() != 0)
            throw new ArgumentException($"{part}: input features are not whole {_format} blocks");
    }

    // Prepared row: [in / 16] f32 sums of x.
    public long PreparedRowBytes(QuantizedMatrix part) => part.InFeatures / SumSpan * sizeof(float);

    public void PrepareRow(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared)
    {
        float* sums = (float*)prepared;
        int spans = part.InFeatures / SumSpan;
        for (int s = 0; s < spans; s++)
        {
            float* xs = x + (nint)s * SumSpan;
            float a = 0, b = 0;
            for (int i = 0; i < SumSpan; i += 2)
            {
                a += xs[i];
                b += xs[i + 1];
            }
            sums[s] = a + b;
        }
    }

    public void Run(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared, int rows, int rowStart, int rowEnd,
        float* y, int yStride)
    {
        long preparedRowBytes = (PreparedRowBytes(part) + 63) & ~63L;
        int n = part.InFeatures;
        long rowBytes = part.RowBytes;
        byte* data = (byte*)part.Data.Data;
        bool simd = level >= CpuSimdLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported;
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (nint)r * n;
            float* sums = (float*)(prepared + preparedRowBytes * r);
            float* yr = y + (nint)r * yStride;
            for (int j = rowStart; j < rowEnd; j++)
            {
                byte* w = data + j * rowBytes;
                yr[j] = simd ? DotAvx2(w, xr, sums, n) : GgufRowDotScalar.Dot(_type, w, xr, n);
            }
        }
    }

    private float DotAvx2(byte* w, float* x, float* sums, int n) => _format switch
    {
        WeightFormat.Q8_0 => GgufRowDotAvx2.Q8_0(w, x, n),
        WeightFormat.Q4_0 => GgufRowDotAvx2.Q4_0(w, x, sums, n),
        WeightFormat.Q4_K => GgufRowDotAvx2.Q4K(w, x, sums, n, hasFifthBit: false),
        WeightFormat.Q5_K => GgufRowDotAvx2.Q4K(w, x, sums, n, hasFifthBit: true),
        _ => GgufRowDotAvx2.Q6K(w, x, sums, n),
    };
}
