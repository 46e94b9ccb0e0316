using System.Runtime.CompilerServices;

namespace Hearth.Backends.Cpu;

/// <summary>Per-row element-wise kernels, f32 in and out; weights of any <see cref="IElementKind"/>.</summary>
internal static unsafe class RowKernels
{
    /// <summary>Σ x² over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfSquares<TS, TV>(float* x, int n) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        TV a0 = TS.Zero, a1 = TS.Zero;
        int i = 0;
        for (; i + 2 * c <= n; i += 2 * c)
        {
            TV v0 = TS.Load(x + i), v1 = TS.Load(x + i + c);
            a0 = TS.MultiplyAdd(v0, v0, a0);
            a1 = TS.MultiplyAdd(v1, v1, a1);
        }
        for (; i + c <= n; i += c)
        {
            TV v = TS.Load(x + i);
            a0 = TS.MultiplyAdd(v, v, a0);
        }
        float sum = TS.Sum(TS.Add(a0, a1));
        for (; i < n; i++) sum += x[i] * x[i];
        return sum;
    }

    /// <summary>HF's rsqrt(mean(x²) + eps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float InverseRms(float sumOfSquares, int n, float epsilon) =>
        1f / MathF.Sqrt(sumOfSquares / n + epsilon);

    /// <summary>y = w · (x · scale); w may be null (all ones). y may alias x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleByWeight<TS, TV, TW>(float* x, float scale, byte* w, float* y, int n)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int c = TS.Count;
        TV s = TS.Broadcast(scale);
        int i = 0;
        if (w == null)
        {
            for (; i + c <= n; i += c) TS.Store(y + i, TS.Multiply(TS.Load(x + i), s));
            for (; i < n; i++) y[i] = x[i] * scale;
            return;
        }
        for (; i + c <= n; i += c) TS.Store(y + i, TS.Multiply(TW.Load<TS, TV>(w, i), TS.Multiply(TS.Load(x + i), s)));
        for (; i < n; i++) y[i] = TW.LoadScalar(w, i) * (x[i] * scale);
    }

    public static void RmsNorm<TS, TV, TW>(float* x, byte* w, float* y, int n, float epsilon)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        float scale = InverseRms(SumOfSquares<TS, TV>(x, n), n, epsilon);
        ScaleByWeight<TS, TV, TW>(x, scale, w, y, n);
    }

    /// <summary>residual += input, then y = RmsNorm(residual).</summary>
    public static void AddRmsNorm<TS, TV, TW>(float* residual, float* input, byte* w, float* y, int n, float epsilon)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int c = TS.Count;
        TV acc = TS.Zero;
        int i = 0;
        for (; i + c <= n; i += c)
        {
            TV sum = TS.Add(TS.Load(residual + i), TS.Load(input + i));
            TS.Store(residual + i, sum);
            acc = TS.MultiplyAdd(sum, sum, acc);
        }
        float ss = TS.Sum(acc);
        for (; i < n; i++)
        {
            float sum = residual[i] + input[i];
            residual[i] = sum;
            ss += sum * sum;
        }
        ScaleByWeight<TS, TV, TW>(residual, InverseRms(ss, n, epsilon), w, y, n);
    }

    /// <summary>y = silu(gate) · up = gate / (1 + e^-gate) · up.</summary>
    public static void SiluMul<TS, TV>(float* gate, float* up, float* y, int n) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        TV one = TS.Broadcast(1f);
        int i = 0;
        for (; i + c <= n; i += c)
        {
            TV g = TS.Load(gate + i);
            TV silu = TS.Divide(g, TS.Add(one, TS.Exp(TS.Subtract(TS.Zero, g))));
            TS.Store(y + i, TS.Multiply(silu, TS.Load(up + i)));
        }
        for (; i < n; i++) y[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }

    public static void Add<TS, TV>(float* a, float* b, float* y, int n) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        int i = 0;
        for (; i + c <= n; i += c) TS.Store(y + i, TS.Add(TS.Load(a + i), TS.Load(b + i)));
        for (; i < n; i++) y[i] = a[i] + b[i];
    }

    /// <summary>y = f32(w) over n elements: an embedding row.</summary>
    public static void Widen<TS, TV, TW>(byte* w, float* y, int n)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int c = TS.Count;
        int i = 0;
        for (; i + c <= n; i += c) TS.Store(y + i, TW.Load<TS, TV>(w, i));
        for (; i < n; i++) y[i] = TW.LoadScalar(w, i);
    }

    /// <summary>Asks for [start, start + bytes) in cache ahead of use, a 64-byte line at a time (x86 only; never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* start, nint bytes)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        for (nint b = 0; b < bytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + b);
    }
}
