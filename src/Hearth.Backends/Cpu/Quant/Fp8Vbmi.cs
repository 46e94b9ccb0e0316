using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu.Quant;

/// <summary>
/// The FP8 decode kernel for AVX-512 VBMI: 64 e4m3 bytes become bf16 through two 128-entry byte-table lookups
/// (vpermi2b: the high and low byte of each value's bf16 pattern, exact since e4m3 ⊂ bf16), the bytes are
/// interleaved into words and the words widened to f32 by shift and mask: about a third of the instructions of
/// the arithmetic widening. Interleaving works within 128-bit lanes, so the f32 vectors hold the 64 weights in
/// a fixed shuffled order; the input row is permuted into that same order once per Linear (<see cref="PermuteInput"/>).
/// </summary>
internal static unsafe class Fp8Vbmi
{
    private const int ChunkElements = 64;

    // Entry m = high / low byte of the bf16 pattern of the e4m3 magnitude m (sign added separately).
    private static readonly byte[] HighBytes = new byte[128], LowBytes = new byte[128];

    // For chunk position p (0..63) of the permuted input, the weight index within the 64-byte chunk.
    private static readonly int[] Order = new int[ChunkElements];

    static Fp8Vbmi()
    {
        for (int m = 0; m < 128; m++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(Float8E4M3.ToSingle((byte)m));
            HighBytes[m] = (byte)(bits >> 24);
            LowBytes[m] = (byte)(bits >> 16);
        }
        // Vector v (0: low words even, 1: low words odd, 2: high words even, 3: high words odd), dword d:
        // lane d/4 of the unpack, word 2·(d%4) (+1 when odd), from bytes 0..7 (low unpack) or 8..15 (high).
        for (int v = 0; v < 4; v++)
            for (int d = 0; d < 16; d++)
                Order[v * 16 + d] = 16 * (d / 4) + (v >= 2 ? 8 : 0) + 2 * (d % 4) + (v & 1);
    }

    public static bool IsSupported => Avx512Vbmi.IsSupported && Avx512BW.IsSupported;

    public static bool Qualifies(QuantizedMatrix part) =>
        IsSupported && part.InFeatures % ChunkElements == 0 && part.GroupSize % ChunkElements == 0;

    /// <summary>prepared [in] = x in the order the lookup kernel produces weights.</summary>
    public static void PermuteInput(float* x, int n, float* prepared)
    {
        for (int c = 0; c < n; c += ChunkElements)
            for (int p = 0; p < ChunkElements; p++) prepared[c + p] = x[c + Order[p]];
    }

    /// <summary>Four rows' dot products with the permuted input, each 128-column block scaled once.</summary>
    public static void Dot4(byte* w0, byte* w1, byte* w2, byte* w3, float* s0, float* s1, float* s2, float* s3,
        int n, int blockColumns, float* xp, float* result)
    {
        Vector512<byte> highA, highB, lowA, lowB;
        fixed (byte* h = HighBytes) { highA = Vector512.Load(h); highB = Vector512.Load(h + 64); }
        fixed (byte* l = LowBytes) { lowA = Vector512.Load(l); lowB = Vector512.Load(l + 64); }
        var t0 = Vector512<float>.Zero; var t1 = t0; var t2 = t0; var t3 = t0;
        for (int start = 0, b = 0; start < n; start += blockColumns, b++)
        {
            var d0 = Vector512<float>.Zero; var d1 = d0; var d2 = d0; var d3 = d0;
            for (int i = start, end = Math.Min(start + blockColumns, n); i < end; i += ChunkElements)
            {
                var xa = Vector512.Load(xp + i);
                var xb = Vector512.Load(xp + i + 16);
                var xc = Vector512.Load(xp + i + 32);
                var xd = Vector512.Load(xp + i + 48);
                d0 = Chunk(w0 + i, highA, highB, lowA, lowB, xa, xb, xc, xd, d0);
                d1 = Chunk(w1 + i, highA, highB, lowA, lowB, xa, xb, xc, xd, d1);
                d2 = Chunk(w2 + i, highA, highB, lowA, lowB, xa, xb, xc, xd, d2);
                d3 = Chunk(w3 + i, highA, highB, lowA, lowB, xa, xb, xc, xd, d3);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chunk(byte* w, Vector512<byte> highA, Vector512<byte> highB, Vector512<byte> lowA,
        Vector512<byte> lowB, Vector512<float> xa, Vector512<float> xb, Vector512<float> xc, Vector512<float> xd, Vector512<float> d)
    {
        var bytes = Vector512.Load(w);
        // The index's bit 7 (the sign) is ignored by the lookup and put back into the high byte.
        var high = Avx512Vbmi.PermuteVar64x8x2(highA, bytes, highB) | (bytes & Vector512.Create((byte)0x80));
        var low = Avx512Vbmi.PermuteVar64x8x2(lowA, bytes, lowB);
        var wordsLow = Avx512BW.UnpackLow(low, high).AsUInt32();
        var wordsHigh = Avx512BW.UnpackHigh(low, high).AsUInt32();
        var mask = Vector512.Create(0xFFFF0000u);
        d = Avx512F.FusedMultiplyAdd(Vector512.ShiftLeft(wordsLow, 16).AsSingle(), xa, d);
        d = Avx512F.FusedMultiplyAdd((wordsLow & mask).AsSingle(), xb, d);
        d = Avx512F.FusedMultiplyAdd(Vector512.ShiftLeft(wordsHigh, 16).AsSingle(), xc, d);
        return Avx512F.FusedMultiplyAdd((wordsHigh & mask).AsSingle(), xd, d);
    }
}
