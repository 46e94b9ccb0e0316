using System.Runtime.Intrinsics.X86;
using Hearth.Backends.Cpu.Quant;
using Hearth.Backends.Gguf;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// Matmul over raw GGUF blocks (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), as llama.cpp does it on CPUs: each input row is
/// quantized once per call to int8 in 32-value blocks (<see cref="Q8Activations"/>), then every weight row's
/// codes are multiplied with it in int32 and scaled once per (sub-)block, nothing dequantized to memory.
/// The input quantization adds a small error of its own (about 0.4% of each block's largest input). AVX2 path;
/// elsewhere a scalar path that decodes one block at a time.
/// </summary>
internal sealed unsafe class GgufLinearKernel : IQuantizedLinearKernel
{
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

    public long PreparedRowBytes(QuantizedMatrix part) => Q8Activations.SizeBytes(part.InFeatures);

    public void PrepareRow(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared) =>
        Q8Activations.Quantize(x, part.InFeatures, prepared);

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
            byte* xr = prepared + preparedRowBytes * r;
            float* yr = y + (nint)r * yStride;
            for (int j = rowStart; j < rowEnd; j++)
            {
                byte* w = data + j * rowBytes;
                yr[j] = simd ? DotAvx2(w, xr, n) : GgufRowDotScalar.Dot(_type, w, xr, n);
            }
        }
    }

    /// <summary>
    /// Batches decode a chunk of weight rows once into the caller's f32 scratch and multiply f32 inputs from there
    /// (no input quantization then); the chunk is a few rows, never the whole matrix.
    /// </summary>
    public bool TryDequantizeRows(QuantizedMatrix part, int rowStart, int rowEnd, float* destination)
    {
        int n = part.InFeatures;
        long rowBytes = part.RowBytes;
        byte* data = (byte*)part.Data.Data;
        bool simd = Avx2.IsSupported && Fma.IsSupported;
        for (int j = rowStart; j < rowEnd; j++)
        {
            float* row = destination + (nint)(j - rowStart) * n;
            if (simd) GgufDequantizeAvx2.Row(_format, data + j * rowBytes, row, n);
            else GgufBlockCodec.Dequantize(_type, new ReadOnlySpan<byte>(data + j * rowBytes, checked((int)rowBytes)), new Span<float>(row, n));
        }
        return true;
    }

    private float DotAvx2(byte* w, byte* prepared, int n) => _format switch
    {
        WeightFormat.Q8_0 => GgufRowDotAvx2.Q8_0(w, prepared, n),
        WeightFormat.Q4_0 => GgufRowDotAvx2.Q4_0(w, prepared, n),
        WeightFormat.Q4_K => GgufRowDotAvx2.Q4K(w, prepared, n, hasFifthBit: false),
        WeightFormat.Q5_K => GgufRowDotAvx2.Q4K(w, prepared, n, hasFifthBit: true),
        _ => GgufRowDotAvx2.Q6K(w, prepared, n),
    };
}
