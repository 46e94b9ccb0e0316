using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Hearth.Core;

namespace Hearth.Backends.Cpu.Quant;

/// <summary>
/// Int4Group matmul: nibbles are widened to f32 in registers and multiplied with f32 inputs, four weight
/// rows sharing each input load. Per group, Σ q·x is scaled once; the zero point enters as zero · scale ·
/// Σ x, with the group sums of x computed once per input row in the preparation step (which also applies
/// an act-order permutation). AVX-512 and AVX2 paths; other machines take the scalar loop.
/// </summary>
internal sealed unsafe class Int4GroupKernel : IQuantizedLinearKernel
{
    public static readonly Int4GroupKernel Instance = new();

    private const float SymmetricZero = 8f;

    public void Check(QuantizedMatrix part)
    {
        if (part.Format != WeightFormat.Int4Group) throw new ArgumentException($"{part} is not Int4Group");
    }

    public long PreparedRowBytes(QuantizedMatrix part) =>
        PermutedOffsetBytes(part) + (part.InputPermutation is null ? 0 : part.InFeatures * sizeof(float));

    // Prepared row: [groups] f32 sums of x per group, then (act-order only) [in] f32 x permuted.
    private static long PermutedOffsetBytes(QuantizedMatrix part) => ((part.InFeatures / part.GroupSize * sizeof(float)) + 63) & ~63L;

    public void PrepareRow(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared)
    {
        int n = part.InFeatures, groupSize = part.GroupSize;
        float* sums = (float*)prepared;
        float* source = x;
        if (part.InputPermutation is { } permutation)
        {
            int* perm = (int*)permutation.Data;
            float* permuted = (float*)(prepared + PermutedOffsetBytes(part));
            for (int i = 0; i < n; i++) permuted[i] = x[perm[i]];
            source = permuted;
        }
        for (int g = 0; g < n / groupSize; g++)
        {
            float s = 0;
            float* xg = source + (nint)g * groupSize;
            for (int i = 0; i < groupSize; i++) s += xg[i];
            sums[g] = s;
        }
    }

    public void Run(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared, int rows, int rowStart, int rowEnd,
        float* y, int yStride)
    {
        long preparedRowBytes = (PreparedRowBytes(part) + 63) & ~63L;
        var rowsIn = new Int4Rows(part);
        float* result = stackalloc float[4];
        for (int r = 0; r < rows; r++)
        {
            byte* prep = prepared + preparedRowBytes * r;
            float* xr = part.InputPermutation is null ? x + (nint)r * part.InFeatures : (float*)(prep + PermutedOffsetBytes(part));
            float* yr = y + (nint)r * yStride;
            for (int j = rowStart; j < rowEnd; j += 4)
            {
                int count = Math.Min(4, rowEnd - j);
                // A tail of fewer than four rows repeats the last one and keeps only the real results.
                int j1 = j + Math.Min(1, count - 1), j2 = j + Math.Min(2, count - 1), j3 = j + Math.Min(3, count - 1);
                if (level == CpuSimdLevel.Vector512 && Avx512F.IsSupported) Dot4Avx512(rowsIn, j, j1, j2, j3, xr, (float*)prep, result);
                else if (level >= CpuSimdLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported) Dot4Avx2(rowsIn, j, j1, j2, j3, xr, (float*)prep, result);
                else Dot4Scalar(rowsIn, j, j1, j2, j3, xr, (float*)prep, result);
                for (int k = 0; k < count; k++) yr[j + k] = result[k];
            }
        }
    }

    public bool TryDequantizeRows(QuantizedMatrix part, int rowStart, int rowEnd, float* destination)
    {
        var m = new Int4Rows(part);
        int* perm = part.InputPermutation is { } p ? (int*)p.Data : null;
        for (int j = rowStart; j < rowEnd; j++)
        {
            byte* w = m.Row(j);
            float* row = destination + (nint)(j - rowStart) * m.N;
            for (int g = 0; g < m.Groups; g++)
            {
                float scale = m.Scale(j, g), offset = -m.Zero(j, g) * scale;
                for (int i = g * m.GroupSize; i < (g + 1) * m.GroupSize; i += QuantizedMatrix.Int4ChunkElements)
                {
                    byte* chunk = w + i / 2;
                    if (perm == null && Avx512F.IsSupported)
                    {
                        var v = Avx512F.ConvertToVector512Int32(Vector128.Load(chunk));
                        var s = Vector512.Create(scale);
                        var o = Vector512.Create(offset);
                        Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(v & Vector512.Create(15)), s, o), row + i);
                        Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), s, o), row + i + 16);
                        continue;
                    }
                    for (int k = 0; k < 16; k++)
                    {
                        int low = i + k, high = i + 16 + k;
                        row[perm == null ? low : perm[low]] = (chunk[k] & 15) * scale + offset;
                        row[perm == null ? high : perm[high]] = (chunk[k] >> 4) * scale + offset;
                    }
                }
            }
        }
        return true;
    }

    /// <summary>Pointers into one part's tensors, read by the row kernels.</summary>
    private readonly struct Int4Rows(QuantizedMatrix part)
    {
        public readonly byte* Data = (byte*)part.Data.Data; // [out, in/2]
        public readonly float* Scales = (float*)part.Scales!.Value.Data; // [out, groups]
        public readonly float* Zeros = part.Zeros is { } z ? (float*)z.Data : null; // [out, groups] or null
        public readonly int N = part.InFeatures;
        public readonly int GroupSize = part.GroupSize;
        public readonly int Groups = part.InFeatures / part.GroupSize;

        public byte* Row(int j) => Data + (nint)j * (N / 2);

        public float Zero(int j, int g) => Zeros == null ? SymmetricZero : Zeros[(nint)j * Groups + g];

        public float Scale(int j, int g) => Scales[(nint)j * Groups + g];
    }

    private static void Dot4Avx512(in Int4Rows m, int j0, int j1, int j2, int j3, float* x, float* sums, float* result)
    {
        byte* w0 = m.Row(j0), w1 = m.Row(j1), w2 = m.Row(j2), w3 = m.Row(j3);
        var acc0 = Vector512<float>.Zero; var acc1 = acc0; var acc2 = acc0; var acc3 = acc0;
        float z0 = 0, z1 = 0, z2 = 0, z3 = 0;
        var low = Vector512.Create(15);
        int chunks = m.GroupSize / QuantizedMatrix.Int4ChunkElements;
        for (int g = 0; g < m.Groups; g++)
        {
            var d0 = Vector512<float>.Zero; var d1 = d0; var d2 = d0; var d3 = d0;
            int chunkStart = g * chunks;
            for (int c = chunkStart; c < chunkStart + chunks; c++)
            {
                var xl = Vector512.Load(x + c * 32);
                var xh = Vector512.Load(x + c * 32 + 16);
                int b = c * 16;
                var v = Avx512F.ConvertToVector512Int32(Vector128.Load(w0 + b));
                d0 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(v & low), xl, d0);
                d0 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), xh, d0);
                v = Avx512F.ConvertToVector512Int32(Vector128.Load(w1 + b));
                d1 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(v & low), xl, d1);
                d1 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), xh, d1);
                v = Avx512F.ConvertToVector512Int32(Vector128.Load(w2 + b));
                d2 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(v & low), xl, d2);
                d2 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), xh, d2);
                v = Avx512F.ConvertToVector512Int32(Vector128.Load(w3 + b));
                d3 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(v & low), xl, d3);
                d3 = Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), xh, d3);
            }
            float s0 = m.Scale(j0, g), s1 = m.Scale(j1, g), s2 = m.Scale(j2, g), s3 = m.Scale(j3, g);
            acc0 = Avx512F.FusedMultiplyAdd(d0, Vector512.Create(s0), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(d1, Vector512.Create(s1), acc1);
            acc2 = Avx512F.FusedMultiplyAdd(d2, Vector512.Create(s2), acc2);
            acc3 = Avx512F.FusedMultiplyAdd(d3, Vector512.Create(s3), acc3);
            float sum = sums[g];
            z0 += m.Zero(j0, g) * s0 * sum;
            z1 += m.Zero(j1, g) * s1 * sum;
            z2 += m.Zero(j2, g) * s2 * sum;
            z3 += m.Zero(j3, g) * s3 * sum;
        }
        result[0] = Vector512.Sum(acc0) - z0;
        result[1] = Vector512.Sum(acc1) - z1;
        result[2] = Vector512.Sum(acc2) - z2;
        result[3] = Vector512.Sum(acc3) - z3;
    }

    private static void Dot4Avx2(in Int4Rows m, int j0, int j1, int j2, int j3, float* x, float* sums, float* result)
    {
        byte* w0 = m.Row(j0), w1 = m.Row(j1), w2 = m.Row(j2), w3 = m.Row(j3);
        var acc0 = Vector256<float>.Zero; var acc1 = acc0; var acc2 = acc0; var acc3 = acc0;
        float z0 = 0, z1 = 0, z2 = 0, z3 = 0;
        int chunks = m.GroupSize / QuantizedMatrix.Int4ChunkElements;
        for (int g = 0; g < m.Groups; g++)
        {
            var d0 = Vector256<float>.Zero; var d1 = d0; var d2 = d0; var d3 = d0;
            int chunkStart = g * chunks;
            for (int c = chunkStart; c < chunkStart + chunks; c++)
            {
                float* xc = x + c * 32;
                var x0 = Vector256.Load(xc);
                var x1 = Vector256.Load(xc + 8);
                var x2 = Vector256.Load(xc + 16);
                var x3 = Vector256.Load(xc + 24);
                int b = c * 16;
                d0 = Chunk256(w0 + b, x0, x1, x2, x3, d0);
                d1 = Chunk256(w1 + b, x0, x1, x2, x3, d1);
                d2 = Chunk256(w2 + b, x0, x1, x2, x3, d2);
                d3 = Chunk256(w3 + b, x0, x1, x2, x3, d3);
            }
            float s0 = m.Scale(j0, g), s1 = m.Scale(j1, g), s2 = m.Scale(j2, g), s3 = m.Scale(j3, g);
            acc0 = Fma.MultiplyAdd(d0, Vector256.Create(s0), acc0);
            acc1 = Fma.MultiplyAdd(d1, Vector256.Create(s1), acc1);
            acc2 = Fma.MultiplyAdd(d2, Vector256.Create(s2), acc2);
            acc3 = Fma.MultiplyAdd(d3, Vector256.Create(s3), acc3);
            float sum = sums[g];
            z0 += m.Zero(j0, g) * s0 * sum;
            z1 += m.Zero(j1, g) * s1 * sum;
            z2 += m.Zero(j2, g) * s2 * sum;
            z3 += m.Zero(j3, g) * s3 * sum;
        }
        result[0] = Vector256.Sum(acc0) - z0;
        result[1] = Vector256.Sum(acc1) - z1;
        result[2] = Vector256.Sum(acc2) - z2;
        result[3] = Vector256.Sum(acc3) - z3;
    }

    /// <summary>One 32-weight chunk (16 bytes) of one row: low nibbles are weights 0..15, high nibbles 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Chunk256(byte* w, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2,
        Vector256<float> x3, Vector256<float> d)
    {
        var low = Vector256.Create(15);
        var a = Avx2.ConvertToVector256Int32(w);
        var b = Avx2.ConvertToVector256Int32(w + 8);
        d = Fma.MultiplyAdd(Vector256.ConvertToSingle(a & low), x0, d);
        d = Fma.MultiplyAdd(Vector256.ConvertToSingle(b & low), x1, d);
        d = Fma.MultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(a, 4)), x2, d);
        return Fma.MultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(b, 4)), x3, d);
    }

    private static void Dot4Scalar(in Int4Rows m, int j0, int j1, int j2, int j3, float* x, float* sums, float* result)
    {
        result[0] = DotScalar(m, j0, x, sums);
        result[1] = DotScalar(m, j1, x, sums);
        result[2] = DotScalar(m, j2, x, sums);
        result[3] = DotScalar(m, j3, x, sums);
    }

    private static float DotScalar(in Int4Rows m, int j, float* x, float* sums)
    {
        byte* w = m.Row(j);
        float total = 0;
        for (int g = 0; g < m.Groups; g++)
        {
            float dot = 0;
            for (int i = g * m.GroupSize; i < (g + 1) * m.GroupSize; i += QuantizedMatrix.Int4ChunkElements)
            {
                byte* chunk = w + i / 2;
                for (int k = 0; k < 16; k++)
                {
                    dot += (chunk[k] & 15) * x[i + k];
                    dot += (chunk[k] >> 4) * x[i + 16 + k];
                }
            }
            float scale = m.Scale(j, g);
            total += scale * dot - m.Zero(j, g) * scale * sums[g];
        }
        return total;
    }
}
