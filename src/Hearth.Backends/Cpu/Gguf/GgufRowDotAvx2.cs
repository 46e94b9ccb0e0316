using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// AVX2+FMA dot products of one row of GGUF blocks with an f32 input row. sums [n/16] holds Σx over each 16
/// inputs (see <see cref="GgufLinearKernel"/>). Layouts are documented in the codecs (Backends/Gguf).
/// </summary>
internal static unsafe class GgufRowDotAvx2
{
    public static float Q8_0(byte* w, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 34;
            sbyte* q = (sbyte*)(block + 2);
            float* xb = x + (nint)b * 32;
            var t = Avx.Multiply(Signed8(q), Avx.LoadVector256(xb));
            t = Fma.MultiplyAdd(Signed8(q + 8), Avx.LoadVector256(xb + 8), t);
            t = Fma.MultiplyAdd(Signed8(q + 16), Avx.LoadVector256(xb + 16), t);
            t = Fma.MultiplyAdd(Signed8(q + 24), Avx.LoadVector256(xb + 24), t);
            acc = Fma.MultiplyAdd(Vector256.Create(Half(block)), t, acc);
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_0(byte* w, float* x, float* sums, int n)
    {
        var acc = Vector256<float>.Zero;
        var low = Vector128.Create((byte)0x0F);
        float offset = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 18;
            float* xb = x + (nint)b * 32;
            var v = Sse2.LoadVector128(block + 2);
            var lo = Sse2.And(v, low);
            var hi = Sse2.And(Sse2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), low);
            var t = Dot16(lo, xb, Vector256<float>.Zero);
            t = Dot16(hi, xb + 16, t);
            float d = Half(block);
            acc = Fma.MultiplyAdd(Vector256.Create(d), t, acc);
            offset += d * 8 * (sums[2 * b] + sums[2 * b + 1]);
        }
        return Vector256.Sum(acc) - offset;
    }

    /// <summary>Q4_K, or Q5_K when <paramref name="hasFifthBit"/>.</summary>
    public static float Q4K(byte* w, float* x, float* sums, int n, bool hasFifthBit)
    {
        int blockBytes = hasFifthBit ? 176 : 144;
        var acc = Vector256<float>.Zero;
        var low = Vector128.Create((byte)0x0F);
        var one = Vector128.Create((byte)1);
        float offset = 0;
        byte* scales = stackalloc byte[8];
        byte* mins = stackalloc byte[8];
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * blockBytes;
            float d = Half(block), dmin = Half(block + 2);
            UnpackScales(block + 4, scales, mins);
            byte* qs = block + (hasFifthBit ? 48 : 16);
            float* xs = x + (nint)sb * 256;
            float* ss = sums + (nint)sb * 16;
            Vector128<byte> qh0 = default, qh1 = default;
            if (hasFifthBit)
            {
                qh0 = Sse2.LoadVector128(block + 16);
                qh1 = Sse2.LoadVector128(block + 32);
            }
            for (int c = 0; c < 4; c++)
            {
                var a = Sse2.LoadVector128(qs + 32 * c);
                var b = Sse2.LoadVector128(qs + 32 * c + 16);
                var loA = Sse2.And(a, low);
                var loB = Sse2.And(b, low);
                var hiA = Sse2.And(Sse2.ShiftRightLogical(a.AsUInt16(), 4).AsByte(), low);
                var hiB = Sse2.And(Sse2.ShiftRightLogical(b.AsUInt16(), 4).AsByte(), low);
                if (hasFifthBit)
                {
                    loA = Sse2.Or(loA, FifthBit(qh0, 2 * c, one));
                    loB = Sse2.Or(loB, FifthBit(qh1, 2 * c, one));
                    hiA = Sse2.Or(hiA, FifthBit(qh0, 2 * c + 1, one));
                    hiB = Sse2.Or(hiB, FifthBit(qh1, 2 * c + 1, one));
                }
                int s = 2 * c;
                float* x0 = xs + 64 * c;
                var t = Dot16(loB, x0 + 16, Dot16(loA, x0, Vector256<float>.Zero));
                acc = Fma.MultiplyAdd(Vector256.Create(d * scales[s]), t, acc);
                offset += dmin * mins[s] * (ss[2 * s] + ss[2 * s + 1]);
                t = Dot16(hiB, x0 + 48, Dot16(hiA, x0 + 32, Vector256<float>.Zero));
                acc = Fma.MultiplyAdd(Vector256.Create(d * scales[s + 1]), t, acc);
                offset += dmin * mins[s + 1] * (ss[2 * s + 2] + ss[2 * s + 3]);
            }
        }
        return Vector256.Sum(acc) - offset;
    }

    public static float Q6K(byte* w, float* x, float* sums, int n)
    {
        var acc = Vector256<float>.Zero;
        var low = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        float offset = 0;
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * 210;
            float d = Half(block + 208);
            sbyte* sc = (sbyte*)(block + 192);
            float* xs = x + (nint)sb * 256;
            float* ss = sums + (nint)sb * 16;
            for (int h = 0; h < 2; h++)
            {
                byte* ql = block + 64 * h;
                byte* qh = block + 128 + 32 * h;
                var qh0 = Sse2.LoadVector128(qh);
                var qh1 = Sse2.LoadVector128(qh + 16);
                for (int g = 0; g < 4; g++)
                {
                    byte* source = ql + (g & 1) * 32;
                    byte nibbleShift = (byte)((g >> 1) * 4), pairShift = (byte)(2 * g);
                    for (int k = 0; k < 2; k++)
                    {
                        var l = Sse2.LoadVector128(source + 16 * k);
                        var nib = Sse2.And(Vector128.ShiftRightLogical(l.AsUInt16(), nibbleShift).AsByte(), low);
                        var pair = Sse2.And(Vector128.ShiftRightLogical((k == 0 ? qh0 : qh1).AsUInt16(), pairShift).AsByte(), three);
                        var q = Sse2.Or(nib, Sse2.ShiftLeftLogical(pair.AsUInt16(), 4).AsByte());
                        int e0 = 128 * h + 32 * g + 16 * k;
                        var t = Dot16(q, xs + e0, Vector256<float>.Zero);
                        float scale = d * sc[e0 / 16];
                        acc = Fma.MultiplyAdd(Vector256.Create(scale), t, acc);
                        offset += scale * 32 * ss[e0 / 16];
                    }
                }
            }
        }
        return Vector256.Sum(acc) - offset;
    }

    /// <summary>t + Σ over 16 unsigned bytes q[i]·x[i], as 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Dot16(Vector128<byte> q, float* x, Vector256<float> t)
    {
        var first = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q));
        var second = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(q, 8)));
        t = Fma.MultiplyAdd(first, Avx.LoadVector256(x), t);
        return Fma.MultiplyAdd(second, Avx.LoadVector256(x + 8), t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> FifthBit(Vector128<byte> qh, int bit, Vector128<byte> one) =>
        Sse2.ShiftLeftLogical(Sse2.And(Vector128.ShiftRightLogical(qh.AsUInt16(), bit).AsByte(), one).AsUInt16(), 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Signed8(sbyte* q) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(byte* p) => (float)Unsafe.ReadUnaligned<Half>(p);

    /// <summary>The 8 six-bit scales and mins of a Q4_K/Q5_K super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnpackScales(byte* packed, byte* scales, byte* mins)
    {
        for (int s = 0; s < 4; s++)
        {
            scales[s] = (byte)(packed[s] & 63);
            mins[s] = (byte)(packed[s + 4] & 63);
            scales[s + 4] = (byte)((packed[s + 8] & 0xF) | ((packed[s] >> 6) << 4));
            mins[s + 4] = (byte)((packed[s + 8] >> 4) | ((packed[s + 4] >> 6) << 4));
        }
    }
}
