using System.Runtime.CompilerServices;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Dot products of weight rows (any <see cref="IElementKind"/>) with f32 input rows, widened to f32 on the
/// fly and accumulated in f32. Several weight rows (decode) or several input rows (prefill) share each
/// load, so the weights stream once per pass.
/// </summary>
internal static unsafe class LinearKernels
{
    /// <summary>y[r, j] for j in [outStart, outEnd) of one weight part, over all input rows.</summary>
    /// <param name="weight">This part's [partRows, n] weights; row j - partOffset.</param>
    public static void Run<TS, TV, TW>(float* x, int rows, int n, byte* weight, int rowBytes, int partOffset,
        int outStart, int outEnd, float* y, int outFeatures)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            float* x0 = x + (nint)r * n;
            float* yr = y + (nint)r * outFeatures;
            int j = outStart;
            for (; j + 2 <= outEnd; j += 2)
            {
                byte* wa = weight + (nint)(j - partOffset) * rowBytes;
                Dot4x2<TS, TV, TW>(wa, wa + rowBytes, x0, n, yr + j, outFeatures);
            }
            if (j < outEnd)
            {
                byte* w = weight + (nint)(j - partOffset) * rowBytes;
                for (int k = 0; k < 4; k++) yr[(nint)k * outFeatures + j] = Dot<TS, TV, TW>(w, x0 + (nint)k * n, n);
            }
        }
        for (; r < rows; r++)
        {
            float* xr = x + (nint)r * n;
            float* yr = y + (nint)r * outFeatures;
            int j = outStart;
            for (; j + 4 <= outEnd; j += 4)
            {
                byte* w0 = weight + (nint)(j - partOffset) * rowBytes;
                Dot1x4<TS, TV, TW>(w0, rowBytes, xr, n, yr + j);
            }
            for (; j < outEnd; j++) yr[j] = Dot<TS, TV, TW>(weight + (nint)(j - partOffset) * rowBytes, xr, n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot<TS, TV, TW>(byte* w, float* x, int n)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int c = TS.Count;
        TV a0 = TS.Zero, a1 = TS.Zero;
        int i = 0;
        for (; i + 2 * c <= n; i += 2 * c)
        {
            a0 = TS.MultiplyAdd(TW.Load<TS, TV>(w, i), TS.Load(x + i), a0);
            a1 = TS.MultiplyAdd(TW.Load<TS, TV>(w, i + c), TS.Load(x + i + c), a1);
        }
        for (; i + c <= n; i += c) a0 = TS.MultiplyAdd(TW.Load<TS, TV>(w, i), TS.Load(x + i), a0);
        float sum = TS.Sum(TS.Add(a0, a1));
        for (; i < n; i++) sum += TW.LoadScalar(w, i) * x[i];
        return sum;
    }

    /// <summary>Four weight rows, rowBytes apart, against one input row: the decode (GEMV) kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot1x4<TS, TV, TW>(byte* w0, int rowBytes, float* x, int n, float* y)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        byte* w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        int c = TS.Count;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        int i = 0;
        for (; i + c <= n; i += c)
        {
            TV xv = TS.Load(x + i);
            a0 = TS.MultiplyAdd(TW.Load<TS, TV>(w0, i), xv, a0);
            a1 = TS.MultiplyAdd(TW.Load<TS, TV>(w1, i), xv, a1);
            a2 = TS.MultiplyAdd(TW.Load<TS, TV>(w2, i), xv, a2);
            a3 = TS.MultiplyAdd(TW.Load<TS, TV>(w3, i), xv, a3);
        }
        float s0 = TS.Sum(a0), s1 = TS.Sum(a1), s2 = TS.Sum(a2), s3 = TS.Sum(a3);
        for (; i < n; i++)
        {
            float xi = x[i];
            s0 += TW.LoadScalar(w0, i) * xi;
            s1 += TW.LoadScalar(w1, i) * xi;
            s2 += TW.LoadScalar(w2, i) * xi;
            s3 += TW.LoadScalar(w3, i) * xi;
        }
        y[0] = s0;
        y[1] = s1;
        y[2] = s2;
        y[3] = s3;
    }

    /// <summary>
    /// Two weight rows against four input rows: each widened weight vector feeds four FMAs and each input
    /// vector two, the register tile that keeps prefill from being bound by loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4x2<TS, TV, TW>(byte* wa, byte* wb, float* x0, int n, float* y, int outFeatures)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        float* x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
        int c = TS.Count;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        TV b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
        int i = 0;
        for (; i + c <= n; i += c)
        {
            TV va = TW.Load<TS, TV>(wa, i);
            TV vb = TW.Load<TS, TV>(wb, i);
            TV v0 = TS.Load(x0 + i);
            a0 = TS.MultiplyAdd(va, v0, a0);
            b0 = TS.MultiplyAdd(vb, v0, b0);
            TV v1 = TS.Load(x1 + i);
            a1 = TS.MultiplyAdd(va, v1, a1);
            b1 = TS.MultiplyAdd(vb, v1, b1);
            TV v2 = TS.Load(x2 + i);
            a2 = TS.MultiplyAdd(va, v2, a2);
            b2 = TS.MultiplyAdd(vb, v2, b2);
            TV v3 = TS.Load(x3 + i);
            a3 = TS.MultiplyAdd(va, v3, a3);
            b3 = TS.MultiplyAdd(vb, v3, b3);
        }
        float sa0 = TS.Sum(a0), sa1 = TS.Sum(a1), sa2 = TS.Sum(a2), sa3 = TS.Sum(a3);
        float sb0 = TS.Sum(b0), sb1 = TS.Sum(b1), sb2 = TS.Sum(b2), sb3 = TS.Sum(b3);
        for (; i < n; i++)
        {
            float wai = TW.LoadScalar(wa, i), wbi = TW.LoadScalar(wb, i);
            sa0 += wai * x0[i]; sb0 += wbi * x0[i];
            sa1 += wai * x1[i]; sb1 += wbi * x1[i];
            sa2 += wai * x2[i]; sb2 += wbi * x2[i];
            sa3 += wai * x3[i]; sb3 += wbi * x3[i];
        }
        nint stride = outFeatures;
        y[0] = sa0; y[1] = sb0;
        y[stride] = sa1; y[stride + 1] = sb1;
        y[2 * stride] = sa2; y[2 * stride + 1] = sb2;
        y[3 * stride] = sa3; y[3 * stride + 1] = sb3;
    }
}
