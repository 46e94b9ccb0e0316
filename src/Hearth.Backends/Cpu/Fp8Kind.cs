using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>
/// float8_e4m3fn elements (an fp8 KV cache, per-tensor scale 1.0) read as f32. Normal values are rebuilt by
/// moving the 7 magnitude bits into place and adding the exponent re-bias (7 → 127); subnormals (exponent
/// 0, magnitude below 8) are their 3-bit mantissa times 2⁻⁹. Both are exact, and no f32 denormal is made on
/// the way (those cost a microcode assist per element on x86). The bit pattern 0x7F (NaN) is never written
/// by the cache writer, which saturates at ±448; the vector path would read it as 480.
/// </summary>
internal readonly unsafe struct Fp8Kind : IElementKind
{
    private static readonly float[] Table = BuildTable();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(byte* start, nint index) where TS : ISimd<TV> where TV : struct
    {
        byte* p = start + index;
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var w16 = Vector256.WidenLower(Vector128.Load(p).ToVector256Unsafe());
            var f = Decode(Vector512.WidenLower(w16.ToVector512Unsafe()));
            return Unsafe.As<Vector512<float>, TV>(ref f);
        }
        if (typeof(TV) == typeof(Vector256<float>))
        {
            var w16 = Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)p).AsByte());
            var f = Decode(Vector256.WidenLower(w16.ToVector256Unsafe()));
            return Unsafe.As<Vector256<float>, TV>(ref f);
        }
        if (typeof(TV) == typeof(Vector128<float>))
        {
            var w16 = Vector128.WidenLower(Vector128.CreateScalar(*(uint*)p).AsByte());
            var f = Decode(Vector128.WidenLower(w16));
            return Unsafe.As<Vector128<float>, TV>(ref f);
        }
        float scalar = Table[*p];
        return Unsafe.As<float, TV>(ref scalar);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(byte* start, nint index) => Table[start[index]];

    private const uint ReBias = (127u - 7) << 23;
    private const float SubnormalStep = 1f / 512;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Decode(Vector512<uint> bytes)
    {
        var magnitude = bytes & Vector512.Create(0x7Fu);
        var normal = ((magnitude << 20) + Vector512.Create(ReBias)).AsSingle();
        var subnormal = Vector512.ConvertToSingle(magnitude.AsInt32()) * Vector512.Create(SubnormalStep);
        var value = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(8u)).AsSingle(), subnormal, normal);
        return (value.AsUInt32() | ((bytes & Vector512.Create(0x80u)) << 24)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Decode(Vector256<uint> bytes)
    {
        var magnitude = bytes & Vector256.Create(0x7Fu);
        var normal = ((magnitude << 20) + Vector256.Create(ReBias)).AsSingle();
        var subnormal = Vector256.ConvertToSingle(magnitude.AsInt32()) * Vector256.Create(SubnormalStep);
        var value = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(8u)).AsSingle(), subnormal, normal);
        return (value.AsUInt32() | ((bytes & Vector256.Create(0x80u)) << 24)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Decode(Vector128<uint> bytes)
    {
        var magnitude = bytes & Vector128.Create(0x7Fu);
        var normal = ((magnitude << 20) + Vector128.Create(ReBias)).AsSingle();
        var subnormal = Vector128.ConvertToSingle(magnitude.AsInt32()) * Vector128.Create(SubnormalStep);
        var value = Vector128.ConditionalSelect(Vector128.LessThan(magnitude, Vector128.Create(8u)).AsSingle(), subnormal, normal);
        return (value.AsUInt32() | ((bytes & Vector128.Create(0x80u)) << 24)).AsSingle();
    }

    private static float[] BuildTable()
    {
        var table = new float[256];
        for (int b = 0; b < 256; b++) table[b] = Float8E4M3.ToSingle((byte)b);
        return table;
    }
}
