using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu.Quant;

/// <summary>
/// Fp8Block matmul with f32 activations: e4m3 weights are widened to f32 in registers (by table lookups on
/// AVX-512 VBMI, see <see cref="Fp8Vbmi"/>, otherwise arithmetically, see <see cref="Widen256"/>) and each
/// block's partial dot product is scaled once. The GPU path of the real
/// model quantizes activations per token and 128-group to fp8 as well; CPUs have no fp8 arithmetic, so
/// here activations stay f32, which is at least as accurate. Four weight rows share each input load.
/// </summary>
internal sealed unsafe class Fp8BlockKernel : IQuantizedLinearKernel
{
    public static readonly Fp8BlockKernel Instance = new();

    public void Check(QuantizedMatrix part)
    {
        if (part.Format != WeightFormat.Fp8Block) throw new ArgumentException($"{part} is not Fp8Block");
    }

    private static readonly float[] Decoded = Enumerable.Range(0, 256).Select(b => Float8E4M3.ToSingle((byte)b)).ToArray();

    // Inputs are permuted for the VBMI lookup kernel when it can run this part.
    public long PreparedRowBytes(QuantizedMatrix part) => Fp8Vbmi.Qualifies(part) ? (long)part.InFeatures * sizeof(float) : 0;

    public bool TryDequantizeRows(QuantizedMatrix part, int rowStart, int rowEnd, float* destination)
    {
        var m = new Fp8Rows(part);
        fixed (float* table = Decoded)
        {
            for (int j = rowStart; j < rowEnd; j++)
            {
                byte* w = m.Data + (nint)j * m.N;
                float* scales = m.ScaleRow(j);
                float* row = destination + (nint)(j - rowStart) * m.N;
                int i = 0;
                if (Avx512F.IsSupported && m.BlockColumns % 16 == 0)
                {
                    for (; i + 16 <= m.N; i += 16)
                        Vector512.Store(Widen512(w + i) * Vector512.Create(scales[i / m.BlockColumns]), row + i);
                }
                for (; i < m.N; i++) row[i] = table[w[i]] * scales[i / m.BlockColumns];
            }
        }
        return true;
    }

    public void PrepareRow(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared)
    {
        if (Fp8Vbmi.Qualifies(part)) Fp8Vbmi.PermuteInput(x, part.InFeatures, (float*)prepared);
    }

    public void Run(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared, int rows, int rowStart, int rowEnd,
        float* y, int yStride)
    {
        var m = new Fp8Rows(part);
        float* result = stackalloc float[4];
        bool avx512 = level == CpuSimdLevel.Vector512 && Avx512F.IsSupported;
        bool avx2 = level >= CpuSimdLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported;
        bool vbmi = avx512 && Fp8Vbmi.Qualifies(part);
        long preparedRowBytes = (PreparedRowBytes(part) + 63) & ~63L;
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (nint)r * m.N;
            float* permuted = (float*)(prepared + (nint)r * preparedRowBytes);
            float* yr = y + (nint)r * yStride;
            for (int j = rowStart; j < rowEnd; j += 4)
            {
                int count = Math.Min(4, rowEnd - j);
                int j1 = j + Math.Min(1, count - 1), j2 = j + Math.Min(2, count - 1), j3 = j + Math.Min(3, count - 1);
                if (vbmi)
                {
                    Fp8Vbmi.Dot4(m.Data + (nint)j * m.N, m.Data + (nint)j1 * m.N, m.Data + (nint)j2 * m.N, m.Data + (nint)j3 * m.N,
                        m.ScaleRow(j), m.ScaleRow(j1), m.ScaleRow(j2), m.ScaleRow(j3), m.N, m.BlockColumns, permuted, result);
                }
                else if (avx512 && m.BlockColumns % 16 == 0 && m.N % 16 == 0) Dot4Avx512(m, j, j1, j2, j3, xr, result);
                else if (avx512) Dot4<Wide512>(m, j, j1, j2, j3, xr, result);
                else if (avx2) Dot4<Wide256>(m, j, j1, j2, j3, xr, result);
                else Dot4<Narrow>(m, j, j1, j2, j3, xr, result);
                for (int k = 0; k < count; k++) yr[j + k] = result[k];
            }
        }
    }

    /// <summary>The common case (blocks and rows a multiple of 16) with every accumulator in a register.</summary>
    private static void Dot4Avx512(in Fp8Rows m, int j0, int j1, int j2, int j3, float* x, float* result)
    {
        byte* w0 = m.Data + (nint)j0 * m.N, w1 = m.Data + (nint)j1 * m.N, w2 = m.Data + (nint)j2 * m.N, w3 = m.Data + (nint)j3 * m.N;
        float* s0 = m.ScaleRow(j0), s1 = m.ScaleRow(j1), s2 = m.ScaleRow(j2), s3 = m.ScaleRow(j3);
        var t0 = Vector512<float>.Zero; var t1 = t0; var t2 = t0; var t3 = t0;
        for (int b = 0; b < m.ScaleColumns; b++)
        {
            int start = b * m.BlockColumns, end = Math.Min(start + m.BlockColumns, m.N);
            var d0 = Vector512<float>.Zero; var d1 = d0; var d2 = d0; var d3 = d0;
            for (int i = start; i < end; i += 16)
            {
                var xv = Vector512.Load(x + i);
                d0 = Avx512F.FusedMultiplyAdd(Widen512(w0 + i), xv, d0);
                d1 = Avx512F.FusedMultiplyAdd(Widen512(w1 + i), xv, d1);
                d2 = Avx512F.FusedMultiplyAdd(Widen512(w2 + i), xv, d2);
                d3 = Avx512F.FusedMultiplyAdd(Widen512(w3 + i), xv, d3);
            }
            t0 = Avx512F.FusedMultiplyAdd(d0, Vector512.Create(s0[b]), t0);
            t1 = Avx512F.FusedMultiplyAdd(d1, Vector512.Create(s1[b]), t1);
            t2 = Avx512F.FusedMultiplyAdd(d2, Vector512.Create(s2[b]), t2);
            t3 = Avx512F.FusedMultiplyAdd(d3, Vector512.Create(s3[b]), t3);
        }
        result[0] = Vector512.Sum(t0);
        result[1] = Vector512.Sum(t1);
        result[2] = Vector512.Sum(t2);
        result[3] = Vector512.Sum(t3);
    }

    private readonly struct Fp8Rows(QuantizedMatrix part)
    {
        public readonly byte* Data = (byte*)part.Data.Data; // [out, in]
        public readonly float* Scales = (float*)part.Scales!.Value.Data; // [⌈out/blockRows⌉, ⌈in/blockCols⌉]
        public readonly int N = part.InFeatures;
        public readonly int BlockColumns = part.GroupSize;
        public readonly int BlockRows = part.BlockRows;
        public readonly int ScaleColumns = (part.InFeatures + part.GroupSize - 1) / part.GroupSize;

        public float* ScaleRow(int j) => Scales + (nint)(j / BlockRows) * ScaleColumns;
    }

    /// <summary>A vector width for the fp8 dot product: Width weights widened and multiplied per step.</summary>
    private interface IWidth
    {
        static abstract int Width { get; }

        /// <summary>Σ w·x over one run of Width weights, added to acc (kept as a vector).</summary>
        static abstract void Step(byte* w0, byte* w1, byte* w2, byte* w3, float* x, ref Acc4 acc);

        static abstract void Fold(ref Acc4 acc, float s0, float s1, float s2, float s3);

        static abstract void Finish(ref Acc4 acc, float* result);
    }

    private struct Acc4
    {
        public Vector512<float> D0, D1, D2, D3, T0, T1, T2, T3;
    }

    private static void Dot4<TW>(in Fp8Rows m, int j0, int j1, int j2, int j3, float* x, float* result) where TW : IWidth
    {
        byte* w0 = m.Data + (nint)j0 * m.N, w1 = m.Data + (nint)j1 * m.N, w2 = m.Data + (nint)j2 * m.N, w3 = m.Data + (nint)j3 * m.N;
        float* s0 = m.ScaleRow(j0), s1 = m.ScaleRow(j1), s2 = m.ScaleRow(j2), s3 = m.ScaleRow(j3);
        var acc = default(Acc4);
        Span<float> tail = stackalloc float[4];
        for (int b = 0; b < m.ScaleColumns; b++)
        {
            int start = b * m.BlockColumns, end = Math.Min(start + m.BlockColumns, m.N);
            int i = start;
            for (; i + TW.Width <= end; i += TW.Width) TW.Step(w0 + i, w1 + i, w2 + i, w3 + i, x + i, ref acc);
            tail.Clear();
            for (; i < end; i++)
            {
                tail[0] += Float8E4M3.ToSingle(w0[i]) * x[i];
                tail[1] += Float8E4M3.ToSingle(w1[i]) * x[i];
                tail[2] += Float8E4M3.ToSingle(w2[i]) * x[i];
                tail[3] += Float8E4M3.ToSingle(w3[i]) * x[i];
            }
            acc.D0 = acc.D0.WithElement(0, acc.D0.GetElement(0) + tail[0]);
            acc.D1 = acc.D1.WithElement(0, acc.D1.GetElement(0) + tail[1]);
            acc.D2 = acc.D2.WithElement(0, acc.D2.GetElement(0) + tail[2]);
            acc.D3 = acc.D3.WithElement(0, acc.D3.GetElement(0) + tail[3]);
            TW.Fold(ref acc, s0[b], s1[b], s2[b], s3[b]);
        }
        TW.Finish(ref acc, result);
    }

    private readonly struct Wide512 : IWidth
    {
        public static int Width => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(byte* w0, byte* w1, byte* w2, byte* w3, float* x, ref Acc4 acc)
        {
            var xv = Vector512.Load(x);
            acc.D0 = Avx512F.FusedMultiplyAdd(Widen512(w0), xv, acc.D0);
            acc.D1 = Avx512F.FusedMultiplyAdd(Widen512(w1), xv, acc.D1);
            acc.D2 = Avx512F.FusedMultiplyAdd(Widen512(w2), xv, acc.D2);
            acc.D3 = Avx512F.FusedMultiplyAdd(Widen512(w3), xv, acc.D3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Fold(ref Acc4 acc, float s0, float s1, float s2, float s3)
        {
            acc.T0 = Avx512F.FusedMultiplyAdd(acc.D0, Vector512.Create(s0), acc.T0);
            acc.T1 = Avx512F.FusedMultiplyAdd(acc.D1, Vector512.Create(s1), acc.T1);
            acc.T2 = Avx512F.FusedMultiplyAdd(acc.D2, Vector512.Create(s2), acc.T2);
            acc.T3 = Avx512F.FusedMultiplyAdd(acc.D3, Vector512.Create(s3), acc.T3);
            acc.D0 = acc.D1 = acc.D2 = acc.D3 = Vector512<float>.Zero;
        }

        public static void Finish(ref Acc4 acc, float* result)
        {
            result[0] = Vector512.Sum(acc.T0);
            result[1] = Vector512.Sum(acc.T1);
            result[2] = Vector512.Sum(acc.T2);
            result[3] = Vector512.Sum(acc.T3);
        }
    }

    private readonly struct Wide256 : IWidth
    {
        public static int Width => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(byte* w0, byte* w1, byte* w2, byte* w3, float* x, ref Acc4 acc)
        {
            var xv = Vector256.Load(x);
            acc.D0 = Fma.MultiplyAdd(Widen256(w0), xv, acc.D0.GetLower()).ToVector512Unsafe();
            acc.D1 = Fma.MultiplyAdd(Widen256(w1), xv, acc.D1.GetLower()).ToVector512Unsafe();
            acc.D2 = Fma.MultiplyAdd(Widen256(w2), xv, acc.D2.GetLower()).ToVector512Unsafe();
            acc.D3 = Fma.MultiplyAdd(Widen256(w3), xv, acc.D3.GetLower()).ToVector512Unsafe();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Fold(ref Acc4 acc, float s0, float s1, float s2, float s3)
        {
            acc.T0 = Fma.MultiplyAdd(acc.D0.GetLower(), Vector256.Create(s0), acc.T0.GetLower()).ToVector512();
            acc.T1 = Fma.MultiplyAdd(acc.D1.GetLower(), Vector256.Create(s1), acc.T1.GetLower()).ToVector512();
            acc.T2 = Fma.MultiplyAdd(acc.D2.GetLower(), Vector256.Create(s2), acc.T2.GetLower()).ToVector512();
            acc.T3 = Fma.MultiplyAdd(acc.D3.GetLower(), Vector256.Create(s3), acc.T3.GetLower()).ToVector512();
            acc.D0 = acc.D1 = acc.D2 = acc.D3 = Vector512<float>.Zero;
        }

        public static void Finish(ref Acc4 acc, float* result)
        {
            result[0] = Vector256.Sum(acc.T0.GetLower());
            result[1] = Vector256.Sum(acc.T1.GetLower());
            result[2] = Vector256.Sum(acc.T2.GetLower());
            result[3] = Vector256.Sum(acc.T3.GetLower());
        }
    }

    private readonly struct Narrow : IWidth
    {
        public static int Width => 1;

        public static void Step(byte* w0, byte* w1, byte* w2, byte* w3, float* x, ref Acc4 acc)
        {
            float xi = *x;
            acc.D0 = acc.D0.WithElement(0, acc.D0.GetElement(0) + Float8E4M3.ToSingle(*w0) * xi);
            acc.D1 = acc.D1.WithElement(0, acc.D1.GetElement(0) + Float8E4M3.ToSingle(*w1) * xi);
            acc.D2 = acc.D2.WithElement(0, acc.D2.GetElement(0) + Float8E4M3.ToSingle(*w2) * xi);
            acc.D3 = acc.D3.WithElement(0, acc.D3.GetElement(0) + Float8E4M3.ToSingle(*w3) * xi);
        }

        public static void Fold(ref Acc4 acc, float s0, float s1, float s2, float s3)
        {
            acc.T0 = acc.T0.WithElement(0, acc.T0.GetElement(0) + acc.D0.GetElement(0) * s0);
            acc.T1 = acc.T1.WithElement(0, acc.T1.GetElement(0) + acc.D1.GetElement(0) * s1);
            acc.T2 = acc.T2.WithElement(0, acc.T2.GetElement(0) + acc.D2.GetElement(0) * s2);
            acc.T3 = acc.T3.WithElement(0, acc.T3.GetElement(0) + acc.D3.GetElement(0) * s3);
            acc.D0 = acc.D1 = acc.D2 = acc.D3 = Vector512<float>.Zero;
        }

        public static void Finish(ref Acc4 acc, float* result)
        {
            result[0] = acc.T0.GetElement(0);
            result[1] = acc.T1.GetElement(0);
            result[2] = acc.T2.GetElement(0);
            result[3] = acc.T3.GetElement(0);
        }
    }

    /// <summary>
    /// Eight e4m3 bytes to f32 without a table: the 7 magnitude bits go to the f32 exponent/mantissa position
    /// with the bias difference (120) added, exact for normal values; subnormals (exponent 0), read that way
    /// as 2^-7 + m·2^-10, are corrected to m·2^-9 = 2·v - 2^-6. The sign bit comes from sign extension.
    /// (Placing the bits as an f32 denormal and multiplying by 2^120 needs fewer instructions but was measured
    /// 15 times slower: denormal operands take a microcode assist on x86.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen256(byte* w)
    {
        var v = Avx2.ConvertToVector256Int32((sbyte*)w);
        var magnitude = v & Vector256.Create(0x7F);
        var value = (Vector256.ShiftLeft(magnitude, 20) + Vector256.Create(120 << 23)).AsSingle();
        var subnormal = Fma.MultiplyAdd(value, Vector256.Create(2f), Vector256.Create(-1f / 64));
        value = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(8)).AsSingle(), subnormal, value);
        return (value.AsInt32() | (v & Vector256.Create(int.MinValue))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen512(byte* w)
    {
        var v = Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)w));
        var magnitude = v & Vector512.Create(0x7F);
        var value = (Vector512.ShiftLeft(magnitude, 20) + Vector512.Create(120 << 23)).AsSingle();
        var subnormal = Avx512F.FusedMultiplyAdd(value, Vector512.Create(2f), Vector512.Create(-1f / 64));
        value = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(8)).AsSingle(), subnormal, value);
        return (value.AsInt32() | (v & Vector512.Create(int.MinValue))).AsSingle();
    }
}
