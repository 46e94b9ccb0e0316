using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for a batch of input rows, vectorized along the rows instead of along k: each weight value is
/// broadcast against a vector of 2·Count rows of the transposed input, so no output needs a horizontal sum.
/// The dot-product kernels pay one such sum per output, which is most of the work when k is small (the
/// parrot fixture's lm_head is 151,936 × 64: at 32 rows, 4 FMAs per output against an 8-op reduction).
/// </summary>
internal static unsafe class RowVectorLinearKernel
{
    /// <summary>
    /// y[r, j] for j in [outStart, outEnd), r &lt; rows. xt: the input transposed, [n, paddedRows] with zero padding
    /// (paddedRows a multiple of 2·Count); w: f32 weight rows, row j at w + (j - wOffset)·n.
    /// </summary>
    public static void Run<TS, TV>(float* xt, int rows, int paddedRows, int n, float* w, int wOffset,
        int outStart, int outEnd, float* y, int outFeatures)
        where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        float* tile = stackalloc float[4 * 2 * 64];
        for (int rowBase = 0; rowBase < rows; rowBase += 2 * c)
        {
            int groupRows = Math.Min(2 * c, rows - rowBase);
            float* xg = xt + rowBase;
            if (groupRows <= c)
            {
                RunOneVector<TS, TV>(xg, rowBase, groupRows, paddedRows, n, w, wOffset, outStart, outEnd, y, outFeatures, tile);
                continue;
            }
            int j = outStart;
            if (typeof(TV) == typeof(Vector512<float>) && groupRows == 2 * c)
            {
                var store = new TransposedStoreSink(y + (nint)rowBase * outFeatures, outFeatures);
                for (; j + 8 <= outEnd; j += 8) Block8x512(xg, paddedRows, w + (nint)(j - wOffset) * n, n, j, store);
                for (; j < outEnd; j++) Column512(xg, paddedRows, w + (nint)(j - wOffset) * n, n, j, store);
                continue;
            }
            for (; j + 4 <= outEnd; j += 4)
                Block4<TS, TV>(xg, paddedRows, w + (nint)(j - wOffset) * n, n, y + (nint)rowBase * outFeatures + j, outFeatures, groupRows, tile);
            for (; j < outEnd; j++)
            {
                float* w0 = w + (nint)(j - wOffset) * n;
                TV a0 = TS.Zero, b0 = TS.Zero;
                for (int i = 0; i < n; i++)
                {
                    float* xi = xg + (nint)i * paddedRows;
                    TV v0 = TS.Broadcast(w0[i]);
                    a0 = TS.MultiplyAdd(v0, TS.Load(xi), a0);
                    b0 = TS.MultiplyAdd(v0, TS.Load(xi + c), b0);
                }
                TS.Store(tile, a0);
                TS.Store(tile + c, b0);
                for (int r = 0; r < groupRows; r++) y[(nint)(rowBase + r) * outFeatures + j] = tile[r];
            }
        }
    }

    /// <summary>
    /// Four weight rows against two vectors of rows. Its own method, so the loop keeps every pointer in a
    /// register (inlined into Run, the JIT spilled two of them and reloaded them every iteration).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Block4<TS, TV>(float* xg, int paddedRows, float* w0, int n, float* yj, int outFeatures, int groupRows, float* tile)
        where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        float* w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
        TV a0 = TS.Zero, b0 = TS.Zero, a1 = TS.Zero, b1 = TS.Zero, a2 = TS.Zero, b2 = TS.Zero, a3 = TS.Zero, b3 = TS.Zero;
        float* xi = xg;
        for (int i = 0; i < n; i++, xi += paddedRows)
        {
            TV xa = TS.Load(xi), xb = TS.Load(xi + c);
            TV v0 = TS.Broadcast(w0[i]);
            a0 = TS.MultiplyAdd(v0, xa, a0);
            b0 = TS.MultiplyAdd(v0, xb, b0);
            TV v1 = TS.Broadcast(w1[i]);
            a1 = TS.MultiplyAdd(v1, xa, a1);
            b1 = TS.MultiplyAdd(v1, xb, b1);
            TV v2 = TS.Broadcast(w2[i]);
            a2 = TS.MultiplyAdd(v2, xa, a2);
            b2 = TS.MultiplyAdd(v2, xb, b2);
            TV v3 = TS.Broadcast(w3[i]);
            a3 = TS.MultiplyAdd(v3, xa, a3);
            b3 = TS.MultiplyAdd(v3, xb, b3);
        }
        if (typeof(TV) == typeof(Vector512<float>) && groupRows == 2 * c)
        {
            StoreTransposed(As512(a0), As512(a1), As512(a2), As512(a3), yj, outFeatures);
            StoreTransposed(As512(b0), As512(b1), As512(b2), As512(b3), yj + (nint)c * outFeatures, outFeatures);
            return;
        }
        TS.Store(tile, a0); TS.Store(tile + c, b0);
        TS.Store(tile + 2 * c, a1); TS.Store(tile + 3 * c, b1);
        TS.Store(tile + 4 * c, a2); TS.Store(tile + 5 * c, b2);
        TS.Store(tile + 6 * c, a3); TS.Store(tile + 7 * c, b3);
        for (int r = 0; r < groupRows; r++)
        {
            float* yr = yj + (nint)r * outFeatures;
            yr[0] = tile[r];
            yr[1] = tile[2 * c + r];
            yr[2] = tile[4 * c + r];
            yr[3] = tile[6 * c + r];
        }
    }

    /// <summary>
    /// Eight weight rows against 32 rows on AVX-512: 16 accumulators, so each pair of input loads feeds 16 FMAs
    /// (parrot lm_head at 32 rows, two threads: 4.6 → 4.3 ms against <see cref="Block4{TS, TV}"/>). The sink takes
    /// the 8 × 32 results: stored transposed into y, or folded into running per-row maxima for a greedy pick.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Block8x512<TSink>(float* xg, int paddedRows, float* w0, int n, int column, TSink sink)
        where TSink : struct, IRowVectorSink
    {
        // One pointer per weight row and a native-int index: with w0[k·n + i] the JIT recomputed and sign-extended
        // each row's offset every iteration, scalar work that competed with the FMAs for their ports (L1-resident
        // tile, one thread: 54 -> 81 % of peak FMA throughput).
        float* w1 = w0 + n, w2 = w1 + n, w3 = w2 + n, w4 = w3 + n, w5 = w4 + n, w6 = w5 + n, w7 = w6 + n;
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
        float* xi = xg;
        nint stride = paddedRows;
        for (nint i = 0; i < n; i++, xi += stride)
        {
            var xa = Vector512.Load(xi);
            var xb = Vector512.Load(xi + 16);
            var v = Vector512.Create(w0[i]);
            a0 = Avx512F.FusedMultiplyAdd(v, xa, a0); b0 = Avx512F.FusedMultiplyAdd(v, xb, b0);
            v = Vector512.Create(w1[i]);
            a1 = Avx512F.FusedMultiplyAdd(v, xa, a1); b1 = Avx512F.FusedMultiplyAdd(v, xb, b1);
            v = Vector512.Create(w2[i]);
            a2 = Avx512F.FusedMultiplyAdd(v, xa, a2); b2 = Avx512F.FusedMultiplyAdd(v, xb, b2);
            v = Vector512.Create(w3[i]);
            a3 = Avx512F.FusedMultiplyAdd(v, xa, a3); b3 = Avx512F.FusedMultiplyAdd(v, xb, b3);
            v = Vector512.Create(w4[i]);
            a4 = Avx512F.FusedMultiplyAdd(v, xa, a4); b4 = Avx512F.FusedMultiplyAdd(v, xb, b4);
            v = Vector512.Create(w5[i]);
            a5 = Avx512F.FusedMultiplyAdd(v, xa, a5); b5 = Avx512F.FusedMultiplyAdd(v, xb, b5);
            v = Vector512.Create(w6[i]);
            a6 = Avx512F.FusedMultiplyAdd(v, xa, a6); b6 = Avx512F.FusedMultiplyAdd(v, xb, b6);
            v = Vector512.Create(w7[i]);
            a7 = Avx512F.FusedMultiplyAdd(v, xa, a7); b7 = Avx512F.FusedMultiplyAdd(v, xb, b7);
        }
        sink.Take8(a0, a1, a2, a3, a4, a5, a6, a7, 0, column);
        sink.Take8(b0, b1, b2, b3, b4, b5, b6, b7, 16, column);
    }

    /// <summary>
    /// The greedy pick of a row-vector Linear over [outStart, outEnd) without writing its outputs: rows 17-32
    /// (paddedRows 32) on AVX-512 only. bestValues / bestIndices [32] hold each row's running maximum and its
    /// column (start them at -∞ and -1); columns are visited in increasing order, so the first of equal maxima
    /// stays, and NaNs never win. Bitwise the same sums as <see cref="Run{TS, TV}"/>.
    /// </summary>
    public static void RunArgMax(float* xt, int paddedRows, int n, float* w, int wOffset, int outStart, int outEnd,
        float* bestValues, int* bestIndices)
    {
        if (paddedRows != 32) throw new ArgumentException($"the fused greedy pick needs 32 padded rows, not {paddedRows}");
        var sink = new RowArgMaxSink(bestValues, bestIndices);
        int j = outStart;
        for (; j + 8 <= outEnd; j += 8) Block8x512(xt, paddedRows, w + (nint)(j - wOffset) * n, n, j, sink);
        for (; j < outEnd; j++) Column512(xt, paddedRows, w + (nint)(j - wOffset) * n, n, j, sink);
    }

    /// <summary>One weight row (output column) against 32 rows on AVX-512: the columns a block of eight leaves over.</summary>
    private static void Column512<TSink>(float* xg, int paddedRows, float* w0, int n, int column, TSink sink)
        where TSink : struct, IRowVectorSink
    {
        Vector512<float> a0 = default, b0 = default;
        for (int i = 0; i < n; i++)
        {
            float* xi = xg + (nint)i * paddedRows;
            var v = Vector512.Create(w0[i]);
            a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(xi), a0);
            b0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(xi + 16), b0);
        }
        sink.Take1(a0, 0, column);
        sink.Take1(b0, 16, column);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> As512<TV>(TV value) where TV : struct => Unsafe.As<TV, Vector512<float>>(ref value);

    /// <summary>
    /// Writes four output columns t0..t3 (16 rows each) as 16 rows of four: y[r, 0..3] = (t0[r], t1[r], t2[r], t3[r]).
    /// Two rounds of unpacks leave rows r, r+4, r+8, r+12 in the four 128-bit lanes of one register; each lane is
    /// one 16-byte store. Scalar stores cost two memory operations an output, a third of the kernel at k = 64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreTransposed(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3, float* y, int stride)
    {
        // Per 128-bit lane l (rows 4l..4l+3): lo01 = (t0[4l], t1[4l], t0[4l+1], t1[4l+1]), hi01 the same for rows 4l+2, 4l+3.
        var lo01 = Avx512F.UnpackLow(t0, t1).AsDouble();
        var hi01 = Avx512F.UnpackHigh(t0, t1).AsDouble();
        var lo23 = Avx512F.UnpackLow(t2, t3).AsDouble();
        var hi23 = Avx512F.UnpackHigh(t2, t3).AsDouble();
        var row0 = Avx512F.UnpackLow(lo01, lo23).AsSingle();  // rows 4l
        var row1 = Avx512F.UnpackHigh(lo01, lo23).AsSingle(); // rows 4l + 1
        var row2 = Avx512F.UnpackLow(hi01, hi23).AsSingle();  // rows 4l + 2
        var row3 = Avx512F.UnpackHigh(hi01, hi23).AsSingle(); // rows 4l + 3
        nint s = stride;
        StoreLane(row0, row1, row2, row3, 0, y, s);
        StoreLane(row0, row1, row2, row3, 1, y + 4 * s, s);
        StoreLane(row0, row1, row2, row3, 2, y + 8 * s, s);
        StoreLane(row0, row1, row2, row3, 3, y + 12 * s, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLane(Vector512<float> row0, Vector512<float> row1, Vector512<float> row2, Vector512<float> row3,
        [ConstantExpected(Max = 3)] byte lane, float* y, nint s)
    {
        Avx512F.ExtractVector128(row0, lane).Store(y);
        Avx512F.ExtractVector128(row1, lane).Store(y + s);
        Avx512F.ExtractVector128(row2, lane).Store(y + 2 * s);
        Avx512F.ExtractVector128(row3, lane).Store(y + 3 * s);
    }

    /// <summary>A last group of at most Count rows: one vector of rows, eight weight rows at a time.</summary>
    private static void RunOneVector<TS, TV>(float* xg, int rowBase, int groupRows, int paddedRows, int n, float* w, int wOffset,
        int outStart, int outEnd, float* y, int outFeatures, float* tile)
        where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        int j = outStart;
        for (; j + 8 <= outEnd; j += 8)
        {
            float* w0 = w + (nint)(j - wOffset) * n;
            TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero, a4 = TS.Zero, a5 = TS.Zero, a6 = TS.Zero, a7 = TS.Zero;
            for (int i = 0; i < n; i++)
            {
                TV x = TS.Load(xg + (nint)i * paddedRows);
                a0 = TS.MultiplyAdd(TS.Broadcast(w0[i]), x, a0);
                a1 = TS.MultiplyAdd(TS.Broadcast(w0[n + i]), x, a1);
                a2 = TS.MultiplyAdd(TS.Broadcast(w0[2 * n + i]), x, a2);
                a3 = TS.MultiplyAdd(TS.Broadcast(w0[3 * n + i]), x, a3);
                a4 = TS.MultiplyAdd(TS.Broadcast(w0[4 * n + i]), x, a4);
                a5 = TS.MultiplyAdd(TS.Broadcast(w0[5 * n + i]), x, a5);
                a6 = TS.MultiplyAdd(TS.Broadcast(w0[6 * n + i]), x, a6);
                a7 = TS.MultiplyAdd(TS.Broadcast(w0[7 * n + i]), x, a7);
            }
            TS.Store(tile, a0); TS.Store(tile + c, a1); TS.Store(tile + 2 * c, a2); TS.Store(tile + 3 * c, a3);
            TS.Store(tile + 4 * c, a4); TS.Store(tile + 5 * c, a5); TS.Store(tile + 6 * c, a6); TS.Store(tile + 7 * c, a7);
            for (int r = 0; r < groupRows; r++)
            {
                float* yr = y + (nint)(rowBase + r) * outFeatures + j;
                for (int k = 0; k < 8; k++) yr[k] = tile[k * c + r];
            }
        }
        for (; j < outEnd; j++)
        {
            float* w0 = w + (nint)(j - wOffset) * n;
            TV a0 = TS.Zero;
            for (int i = 0; i < n; i++) a0 = TS.MultiplyAdd(TS.Broadcast(w0[i]), TS.Load(xg + (nint)i * paddedRows), a0);
            TS.Store(tile, a0);
            for (int r = 0; r < groupRows; r++) y[(nint)(rowBase + r) * outFeatures + j] = tile[r];
        }
    }

    /// <summary>xt[i, r] = x[r, i] for r &lt; rows, zero for the padding rows up to paddedRows.</summary>
    public static void Transpose(float* x, int rows, int n, float* xt, int paddedRows)
    {
        for (int i = 0; i < n; i++)
        {
            float* row = xt + (nint)i * paddedRows;
            for (int r = 0; r < rows; r++) row[r] = x[(nint)r * n + i];
            for (int r = rows; r < paddedRows; r++) row[r] = 0;
        }
    }
}
