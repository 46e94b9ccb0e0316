using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace Hearth.Models.Synthetic;

/// <summary>
/// The counter-based generator of synthetic bf16 weights defined in docs/random-models.md; bit-identical to
/// tools/hearth_synthetic.py. Element i of a tensor depends only on (model seed, tensor name, i), so any index
/// range can be generated on its own, in any order, on any number of threads.
/// </summary>
public static class RandomWeights
{
    public const ulong FnvOffsetBasis = 0xCBF29CE484222325;
    public const ulong FnvPrime = 0x100000001B3;
    public const ulong GoldenGamma = 0x9E3779B97F4A7C15;
    private const ulong MixMultiplier1 = 0xBF58476D1CE4E5B9;
    private const ulong MixMultiplier2 = 0x94D049BB133111EB;
    private const int HalfRange = 1 << 23;
    private const float InverseHalfRange = 1f / HalfRange;
    private const int ParallelChunkElements = 1 << 16;

    /// <summary>64-bit FNV-1a over bytes.</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong hash = FnvOffsetBasis;
        foreach (byte b in data)
            hash = (hash ^ b) * FnvPrime;
        return hash;
    }

    /// <summary>The splitmix64 output function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix64(ulong z)
    {
        z = (z ^ (z >> 30)) * MixMultiplier1;
        z = (z ^ (z >> 27)) * MixMultiplier2;
        return z ^ (z >> 31);
    }

    /// <summary>Per-tensor stream key: Mix64(seed ^ FNV-1a(UTF-8 name)).</summary>
    public static ulong TensorKey(ulong modelSeed, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        return Mix64(modelSeed ^ Fnv1a64(Encoding.UTF8.GetBytes(tensorName)));
    }

    /// <summary>RMSNorm weights (names ending in "norm.weight") are centred on 1, every other tensor on 0.</summary>
    public static float CenterFor(string tensorName) =>
        tensorName.EndsWith("norm.weight", StringComparison.Ordinal) ? 1f : 0f;

    /// <summary>
    /// Writes elements [startIndex, startIndex + destination.Length) of the tensor (row-major) as bf16 bits:
    /// center + (2u - 1) * scale, u uniform on [0, 1) with 24 bits, rounded to nearest even.
    /// </summary>
    public static void FillBf16(ulong modelSeed, string tensorName, float scale, Span<ushort> destination, long startIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startIndex);
        FillCore(TensorKey(modelSeed, tensorName), CenterFor(tensorName), scale, destination, startIndex);
    }

    /// <summary>As <see cref="FillBf16"/>, split over the thread pool in 64K-element chunks.</summary>
    public static unsafe void FillBf16Parallel(ulong modelSeed, string tensorName, float scale, Span<ushort> destination, long startIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startIndex);
        ulong key = TensorKey(modelSeed, tensorName);
        float center = CenterFor(tensorName);
        int count = destination.Length;
        int chunks = (count + ParallelChunkElements - 1) / ParallelChunkElements;
        if (chunks <= 1)
        {
            FillCore(key, center, scale, destination, startIndex);
            return;
        }
        fixed (ushort* basePtr = destination)
        {
            // A Span cannot be captured by the lambda; the pinned address can.
            nint address = (nint)basePtr;
            Parallel.For(0, chunks, chunk =>
            {
                int offset = chunk * ParallelChunkElements;
                int length = Math.Min(ParallelChunkElements, count - offset);
                var part = new Span<ushort>((ushort*)address + offset, length);
                FillCore(key, center, scale, part, startIndex + offset);
            });
        }
    }

    private static void FillCore(ulong key, float center, float scale, Span<ushort> destination, long startIndex)
    {
        int done = 0;
        if (Vector512.IsHardwareAccelerated)
            done = FillVector512(key, center, scale, destination, startIndex);
        else if (Vector256.IsHardwareAccelerated)
            done = FillVector256(key, center, scale, destination, startIndex);
        FillScalar(key, center, scale, destination[done..], startIndex + done);
    }

    private static void FillScalar(ulong key, float center, float scale, Span<ushort> destination, long startIndex)
    {
        // Counter i maps to key + (i + 1) * gamma; stepping by gamma avoids a multiply per element.
        ulong z = key + unchecked((ulong)(startIndex + 1) * GoldenGamma);
        for (int i = 0; i < destination.Length; i++, z += GoldenGamma)
            destination[i] = ToBf16(center + UnitSigned(Mix64(z)) * scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float UnitSigned(ulong random) => (int)((long)(random >> 40) - HalfRange) * InverseHalfRange;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    private static int FillVector512(ulong key, float center, float scale, Span<ushort> destination, long startIndex)
    {
        const int Lanes = 8; // ulong lanes; four vectors make one block of 32 bf16 values
        const int Block = 4 * Lanes;
        int blocks = destination.Length / Block;
        if (blocks == 0) return 0;
        Vector512<ulong> z = Vector512.Create(key + unchecked((ulong)(startIndex + 1) * GoldenGamma))
            + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7) * GoldenGamma;
        Vector512<ulong> step = Vector512.Create(unchecked(Lanes * GoldenGamma));
        Vector512<float> scaleV = Vector512.Create(scale), centerV = Vector512.Create(center);
        ref ushort dest = ref destination[0];
        for (int b = 0; b < blocks; b++)
        {
            Vector512<ulong> r0 = Mix(z), r1 = Mix(z + step), r2 = Mix(z + step * 2), r3 = Mix(z + step * 3);
            z += step * 4;
            Vector512<uint> lo = Vector512.Narrow(r0 >>> 40, r1 >>> 40), hi = Vector512.Narrow(r2 >>> 40, r3 >>> 40);
            Vector512<uint> bitsLo = Bf16Bits(lo, scaleV, centerV), bitsHi = Bf16Bits(hi, scaleV, centerV);
            Vector512.Narrow(bitsLo, bitsHi).StoreUnsafe(ref dest, (nuint)(b * Block));
        }
        return blocks * Block;

        static Vector512<ulong> Mix(Vector512<ulong> v)
        {
            v = (v ^ (v >>> 30)) * MixMultiplier1;
            v = (v ^ (v >>> 27)) * MixMultiplier2;
            return v ^ (v >>> 31);
        }

        static Vector512<uint> Bf16Bits(Vector512<uint> m, Vector512<float> scaleV, Vector512<float> centerV)
        {
            Vector512<float> t = Vector512.ConvertToSingle(m.AsInt32() - Vector512.Create(HalfRange)) * InverseHalfRange;
            Vector512<uint> bits = (centerV + t * scaleV).AsUInt32();
            return (bits + Vector512.Create(0x7FFFu) + ((bits >>> 16) & Vector512<uint>.One)) >>> 16;
        }
    }

    private static int FillVector256(ulong key, float center, float scale, Span<ushort> destination, long startIndex)
    {
        const int Lanes = 4;
        const int Block = 4 * Lanes;
        int blocks = destination.Length / Block;
        if (blocks == 0) return 0;
        Vector256<ulong> z = Vector256.Create(key + unchecked((ulong)(startIndex + 1) * GoldenGamma))
            + Vector256.Create(0UL, 1, 2, 3) * GoldenGamma;
        Vector256<ulong> step = Vector256.Create(unchecked(Lanes * GoldenGamma));
        Vector256<float> scaleV = Vector256.Create(scale), centerV = Vector256.Create(center);
        ref ushort dest = ref destination[0];
        for (int b = 0; b < blocks; b++)
        {
            Vector256<ulong> r0 = Mix(z), r1 = Mix(z + step), r2 = Mix(z + step * 2), r3 = Mix(z + step * 3);
            z += step * 4;
            Vector256<uint> lo = Vector256.Narrow(r0 >>> 40, r1 >>> 40), hi = Vector256.Narrow(r2 >>> 40, r3 >>> 40);
            Vector256<uint> bitsLo = Bf16Bits(lo, scaleV, centerV), bitsHi = Bf16Bits(hi, scaleV, centerV);
            Vector256.Narrow(bitsLo, bitsHi).StoreUnsafe(ref dest, (nuint)(b * Block));
        }
        return blocks * Block;

        static Vector256<ulong> Mix(Vector256<ulong> v)
        {
            v = (v ^ (v >>> 30)) * MixMultiplier1;
            v = (v ^ (v >>> 27)) * MixMultiplier2;
            return v ^ (v >>> 31);
        }

        static Vector256<uint> Bf16Bits(Vector256<uint> m, Vector256<float> scaleV, Vector256<float> centerV)
        {
            Vector256<float> t = Vector256.ConvertToSingle(m.AsInt32() - Vector256.Create(HalfRange)) * InverseHalfRange;
            Vector256<uint> bits = (centerV + t * scaleV).AsUInt32();
            return (bits + Vector256.Create(0x7FFFu) + ((bits >>> 16) & Vector256<uint>.One)) >>> 16;
        }
    }
}
