using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// AVX2 integer dot products of one row of GGUF blocks with an input row quantized by <see cref="Q8Activations"/>:
/// unsigned weight codes × int8 inputs through vpmaddubsw/vpmaddwd (exact in int32), converted to f32 once per
/// (sub-)block and scaled by weight scale × input scale. Offsets (Q4_0's 8, the K-quants' mins, Q6_K's 32) use
/// the input's 16-value sums. Layouts are documented in the codecs (Backends/Gguf).
/// </summary>
internal static unsafe class GgufRowDotAvx2
{
    private static readonly Vector256<short> Ones = Vector256.Create((short)1);

    public static float Q8_0(byte* w, byte* prepared, int n)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 34;
            var wq = Avx.LoadVector256((sbyte*)(block + 2));
            var x = Avx.LoadVector256(xq + (nint)b * 32);
            // |w| · (x with w's sign): vpmaddubsw needs one unsigned operand.
            var dot = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(wq), Avx2.Sign(x, wq)), Ones);
            acc = Fma.MultiplyAdd(Vector256.Create(Half(block) * xd[b]), Avx.ConvertToVector256Single(dot), acc);
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_0(byte* w, byte* prepared, int n)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        float* sums = (float*)(prepared + Q8Activations.SumsOffset(n));
        var acc = Vector256<float>.Zero;
        var low = Vector128.Create((byte)0x0F);
        float offset = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* block = w + (nint)b * 18;
            var v = Sse2.LoadVector128(block + 2);
            var codes = Vector256.Create(Sse2.And(v, low), Sse2.And(Sse2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), low));
            var dot = IntDot(codes, Avx.LoadVector256(xq + (nint)b * 32));
            float d = Half(block);
            acc = Fma.MultiplyAdd(Vector256.Create(d * xd[b]), Avx.ConvertToVector256Single(dot), acc);
            offset += d * 8 * (sums[2 * b] + sums[2 * b + 1]);
        }
        return Vector256.Sum(acc) - offset;
    }

    /// <summary>Q4_K, or Q5_K when <paramref name="hasFifthBit"/>.</summary>
    public static float Q4K(byte* w, byte* prepared, int n, bool hasFifthBit)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        float* sums = (float*)(prepared + Q8Activations.SumsOffset(n));
        int blockBytes = hasFifthBit ? 176 : 144;
        var acc = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        var one = Vector256.Create((byte)1);
        float offset = 0;
        byte* scales = stackalloc byte[8];
        byte* mins = stackalloc byte[8];
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * blockBytes;
            float d = Half(block), dmin = Half(block + 2);
            UnpackScales(block + 4, scales, mins);
            byte* qs = block + (hasFifthBit ? 48 : 16);
            var qh = hasFifthBit ? Avx.LoadVector256(block + 16) : default;
            for (int c = 0; c < 4; c++)
            {
                var v = Avx.LoadVector256(qs + 32 * c);
                var lo = Avx2.And(v, low);
                var hi = Avx2.And(Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), low);
                if (hasFifthBit)
                {
                    lo = Avx2.Or(lo, FifthBit(qh, 2 * c, one));
                    hi = Avx2.Or(hi, FifthBit(qh, 2 * c + 1, one));
                }
                for (int k = 0; k < 2; k++)
                {
                    int s = 2 * c + k, xb = sb * 8 + s; // sub-block s is exactly input block xb
                    var dot = IntDot(k == 0 ? lo : hi, Avx.LoadVector256(xq + (nint)xb * 32));
                    acc = Fma.MultiplyAdd(Vector256.Create(d * scales[s] * xd[xb]), Avx.ConvertToVector256Single(dot), acc);
                    offset += dmin * mins[s] * (sums[2 * xb] + sums[2 * xb + 1]);
                }
            }
        }
        return Vector256.Sum(acc) - offset;
    }

    public static float Q6K(byte* w, byte* prepared, int n)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        float* sums = (float*)(prepared + Q8Activations.SumsOffset(n));
        var acc = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        float offset = 0;
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * 210;
            float d = Half(block + 208);
            sbyte* sc = (sbyte*)(block + 192);
            for (int h = 0; h < 2; h++)
            {
                var qh = Avx.LoadVector256(block + 128 + 32 * h);
                for (int g = 0; g < 4; g++)
                {
                    var l = Avx.LoadVector256(block + 64 * h + (g & 1) * 32);
                    var nib = Avx2.And(Vector256.ShiftRightLogical(l.AsUInt16(), (g >> 1) * 4).AsByte(), low);
                    var pair = Avx2.And(Vector256.ShiftRightLogical(qh.AsUInt16(), 2 * g).AsByte(), three);
                    var codes = Avx2.Or(nib, Avx2.ShiftLeftLogical(pair.AsUInt16(), 4).AsByte());
                    int e0 = 128 * h + 32 * g, xb = sb * 8 + e0 / 32;
                    var dot = IntDot(codes, Avx.LoadVector256(xq + (nint)xb * 32));
                    // int32 lanes 0–3 hold values 0–15 (first scale), lanes 4–7 values 16–31 (second scale).
                    float s0 = d * sc[e0 / 16], s1 = d * sc[e0 / 16 + 1];
                    var scale = Vector256.Create(Vector128.Create(s0 * xd[xb]), Vector128.Create(s1 * xd[xb]));
                    acc = Fma.MultiplyAdd(scale, Avx.ConvertToVector256Single(dot), acc);
                    offset += 32 * (s0 * sums[2 * xb] + s1 * sums[2 * xb + 1]);
                }
            }
        }
        return Vector256.Sum(acc) - offset;
    }

    /// <summary>Σ codes·x over 32 values as 8 int32 partial sums (lane i: values 4i..4i+3); codes ≤ 63.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> IntDot(Vector256<byte> codes, Vector256<sbyte> x) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(codes, x), Ones);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBit(Vector256<byte> qh, int bit, Vector256<byte> one) =>
        Avx2.ShiftLeftLogical(Avx2.And(Vector256.ShiftRightLogical(qh.AsUInt16(), bit).AsByte(), one).AsUInt16(), 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(byte* p) => HalfTable.Load(p);

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
