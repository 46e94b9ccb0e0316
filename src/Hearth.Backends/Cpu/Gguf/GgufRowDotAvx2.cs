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

    /// <summary>
    /// Q4_K, or Q5_K when <paramref name="hasFifthBit"/>. Per super-block the 8 sub-block factors d·scale·dx and the
    /// min term dmin·min·Σx are formed as vectors, so the per-sub-block work is one broadcast and one FMA.
    /// </summary>
    public static float Q4K(byte* w, byte* prepared, int n, bool hasFifthBit)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        float* sums32 = (float*)(prepared + Q8Activations.Sums32Offset(n));
        int blockBytes = hasFifthBit ? 176 : 144;
        var acc = Vector256<float>.Zero;
        var offsets = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        var one = Vector256.Create((byte)1);
        float* factors = stackalloc float[8];
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * blockBytes;
            var (scaleBytes, minBytes) = UnpackScales(block + 4);
            var scaleF = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(scaleBytes).AsByte()));
            var minF = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(minBytes).AsByte()));
            Avx.Store(factors, Avx.Multiply(Vector256.Create(HalfTable.Load(block)) * scaleF, Avx.LoadVector256(xd + (nint)sb * 8)));
            offsets = Fma.MultiplyAdd(Vector256.Create(HalfTable.Load(block + 2)) * minF, Avx.LoadVector256(sums32 + (nint)sb * 8), offsets);
            byte* qs = block + (hasFifthBit ? 48 : 16);
            sbyte* x = xq + (nint)sb * 256;
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
                var dotLo = IntDot(lo, Avx.LoadVector256(x + 64 * c));
                var dotHi = IntDot(hi, Avx.LoadVector256(x + 64 * c + 32));
                acc = Fma.MultiplyAdd(Vector256.Create(factors[2 * c]), Avx.ConvertToVector256Single(dotLo), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(factors[2 * c + 1]), Avx.ConvertToVector256Single(dotHi), acc);
            }
        }
        return Vector256.Sum(acc) - Vector256.Sum(offsets);
    }

    /// <summary>
    /// Q6_K. Per super-block the 16 factors d·scale·dx (dx repeated for the two 16-value halves of each input block)
    /// and the offset 32·d·scale·Σx are formed as vectors.
    /// </summary>
    public static float Q6K(byte* w, byte* prepared, int n)
    {
        float* xd = (float*)prepared;
        sbyte* xq = (sbyte*)(prepared + Q8Activations.QuantsOffset(n));
        float* sums = (float*)(prepared + Q8Activations.SumsOffset(n));
        var acc = Vector256<float>.Zero;
        var offsets = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        float* factors = stackalloc float[16];
        for (int sb = 0; sb < n / 256; sb++)
        {
            byte* block = w + (nint)sb * 210;
            var d = Vector256.Create(HalfTable.Load(block + 208));
            sbyte* sc = (sbyte*)(block + 192);
            for (int half = 0; half < 2; half++)
            {
                var scale = d * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(sc + 8 * half));
                var dx = Sse.LoadVector128(xd + (nint)sb * 8 + 4 * half);
                var dxTwice = Vector256.Create(Sse.UnpackLow(dx, dx), Sse.UnpackHigh(dx, dx));
                Avx.Store(factors + 8 * half, scale * dxTwice);
                offsets = Fma.MultiplyAdd(scale, Avx.LoadVector256(sums + (nint)sb * 16 + 8 * half), offsets);
            }
            sbyte* x = xq + (nint)sb * 256;
            for (int h = 0; h < 2; h++)
            {
                var qh = Avx.LoadVector256(block + 128 + 32 * h);
                var l0 = Avx.LoadVector256(block + 64 * h);
                var l1 = Avx.LoadVector256(block + 64 * h + 32);
                for (int g = 0; g < 4; g++)
                {
                    var l = (g & 1) == 0 ? l0 : l1;
                    var nib = g < 2 ? Avx2.And(l, low) : Avx2.And(Avx2.ShiftRightLogical(l.AsUInt16(), 4).AsByte(), low);
                    var pair = Avx2.And(Vector256.ShiftRightLogical(qh.AsUInt16(), 2 * g).AsByte(), three);
                    var codes = Avx2.Or(nib, Avx2.ShiftLeftLogical(pair.AsUInt16(), 4).AsByte());
                    int e0 = 128 * h + 32 * g;
                    var dot = IntDot(codes, Avx.LoadVector256(x + e0));
                    // int32 lanes 0–3 hold values 0–15 (first scale), lanes 4–7 values 16–31 (second scale).
                    var factor = Vector256.Create(Vector128.Create(factors[e0 / 16]), Vector128.Create(factors[e0 / 16 + 1]));
                    acc = Fma.MultiplyAdd(factor, Avx.ConvertToVector256Single(dot), acc);
                }
            }
        }
        return Vector256.Sum(acc) - 32 * Vector256.Sum(offsets);
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

    /// <summary>
    /// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K super-block as 8 bytes each, unpacked in registers (byte
    /// stores read back as one wide load would stall on store forwarding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (ulong Scales, ulong Mins) UnpackScales(byte* packed)
    {
        uint u0 = Unsafe.ReadUnaligned<uint>(packed), u1 = Unsafe.ReadUnaligned<uint>(packed + 4), u2 = Unsafe.ReadUnaligned<uint>(packed + 8);
        uint scalesLow = u0 & 0x3F3F3F3F;
        uint scalesHigh = (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4);
        uint minsLow = u1 & 0x3F3F3F3F;
        uint minsHigh = ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4);
        return (scalesLow | ((ulong)scalesHigh << 32), minsLow | ((ulong)minsHigh << 32));
    }
}
