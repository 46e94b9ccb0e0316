using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// AVX2 decoding of one row of GGUF blocks to f32, for batches that decode a chunk of weight rows once and share
/// it across many input rows. Same unpacking as <see cref="GgufRowDotAvx2"/>; values equal the reference codec's.
/// </summary>
internal static unsafe class GgufDequantizeAvx2
{
    public static void Row(WeightFormat format, byte* w, float* y, int n)
    {
        switch (format)
        {
            case WeightFormat.Q8_0: Q8_0(w, y, n); break;
            case WeightFormat.Q4_0: Q4_0(w, y, n); break;
            case WeightFormat.Q4_K: Q4K(w, y, n, hasFifthBit: false); break;
            case WeightFormat.Q5_K: Q4K(w, y, n, hasFifthBit: true); break;
            default: Q6K(w, y, n); break;
        }
    }

    private static void Q8_0(byte* w, float* y, int n)
    {
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 34;
            var d = Vector256.Create(HalfTable.Load(block));
            sbyte* q = (sbyte*)(block + 2);
            float* yb = y + (nint)b * 32;
            for (int k = 0; k < 4; k++)
                Avx.Store(yb + 8 * k, d * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 8 * k)));
        }
    }

    private static void Q4_0(byte* w, float* y, int n)
    {
        var low = Vector128.Create((byte)0x0F);
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 18;
            var d = Vector256.Create(HalfTable.Load(block));
            var offset = d * Vector256.Create(-8f);
            var v = Sse2.LoadVector128(block + 2);
            float* yb = y + (nint)b * 32;
            Store16(Sse2.And(v, low), d, offset, yb);
            Store16(Sse2.And(Sse2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), low), d, offset, yb + 16);
        }
    }

    private static void Q4K(byte* w, float* y, int n, bool hasFifthBit)
    {
        int blockBytes = hasFifthBit ? 176 : 144;
        var low = Vector128.Create((byte)0x0F);
        var one = Vector128.Create((byte)1);
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * blockBytes;
            float d = HalfTable.Load(block), dmin = HalfTable.Load(block + 2);
            byte* packed = block + 4;
            byte* qs = block + (hasFifthBit ? 48 : 16);
            float* ys = y + (nint)sb * 256;
            for (int s = 0; s < 8; s++)
            {
                int scale = s < 4 ? packed[s] & 63 : (packed[s + 4] & 0xF) | ((packed[s - 4] >> 6) << 4);
                int min = s < 4 ? packed[s + 4] & 63 : (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4);
                var factor = Vector256.Create(d * scale);
                var offset = Vector256.Create(-dmin * min);
                byte shift = (byte)((s & 1) * 4);
                for (int half = 0; half < 2; half++)
                {
                    var v = Sse2.LoadVector128(qs + 32 * (s / 2) + 16 * half);
                    var codes = Sse2.And(Vector128.ShiftRightLogical(v.AsUInt16(), shift).AsByte(), low);
                    if (hasFifthBit)
                    {
                        var qh = Sse2.LoadVector128(block + 16 + 16 * half);
                        var bit = Sse2.And(Vector128.ShiftRightLogical(qh.AsUInt16(), s).AsByte(), one);
                        codes = Sse2.Or(codes, Sse2.ShiftLeftLogical(bit.AsUInt16(), 4).AsByte());
                    }
                    Store16(codes, factor, offset, ys + 32 * s + 16 * half);
                }
            }
        }
    }

    private static void Q6K(byte* w, float* y, int n)
    {
        var low = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * 210;
            float d = HalfTable.Load(block + 208);
            sbyte* sc = (sbyte*)(block + 192);
            float* ys = y + (nint)sb * 256;
            for (int e = 0; e < 256; e += 16)
            {
                int h = e / 128, g = e % 128 / 32, l = e % 32;
                var ql = Sse2.LoadVector128(block + 64 * h + (g & 1) * 32 + l);
                var qh = Sse2.LoadVector128(block + 128 + 32 * h + l);
                var nib = Sse2.And(Vector128.ShiftRightLogical(ql.AsUInt16(), (g >> 1) * 4).AsByte(), low);
                var pair = Sse2.And(Vector128.ShiftRightLogical(qh.AsUInt16(), 2 * g).AsByte(), three);
                var codes = Sse2.Or(nib, Sse2.ShiftLeftLogical(pair.AsUInt16(), 4).AsByte());
                float factor = d * sc[e / 16];
                Store16(codes, Vector256.Create(factor), Vector256.Create(-32 * factor), ys + e);
            }
        }
    }

    /// <summary>y[i] = factor · codes[i] + offset for 16 unsigned byte codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(Vector128<byte> codes, Vector256<float> factor, Vector256<float> offset, float* y)
    {
        var first = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(codes));
        var second = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(codes, 8)));
        Avx.Store(y, Fma.MultiplyAdd(first, factor, offset));
        Avx.Store(y + 8, Fma.MultiplyAdd(second, factor, offset));
    }
}
