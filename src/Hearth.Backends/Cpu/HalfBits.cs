using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>
/// IEEE half → f32 on widened bits. Placing the half's exponent and mantissa at the float's positions and
/// multiplying by 2^112 re-biases the exponent (15 → 127) and turns half subnormals into exact floats;
/// only infinities and NaNs need the exponent forced to all ones.
/// </summary>
internal static class HalfBits
{
    private const uint SignMask = 0x8000;
    private const uint MagnitudeMask = 0x7FFF;
    private const uint InfinityOrNaN = 0x7C00;
    private const uint FloatExponentMask = 0x7F80_0000;
    private static readonly float Rebias = BitConverter.UInt32BitsToSingle((127 + 112) << 23);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<uint> half)
    {
        var sign = Vector512.ShiftLeft(half & Vector512.Create(SignMask), 16);
        var magnitude = half & Vector512.Create(MagnitudeMask);
        var shifted = Vector512.ShiftLeft(magnitude, 13);
        var finite = shifted.AsSingle() * Vector512.Create(Rebias);
        var special = (shifted | Vector512.Create(FloatExponentMask)).AsSingle();
        var isSpecial = Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(InfinityOrNaN)).AsSingle();
        return (Vector512.ConditionalSelect(isSpecial, special, finite).AsUInt32() | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<uint> half)
    {
        var sign = Vector256.ShiftLeft(half & Vector256.Create(SignMask), 16);
        var magnitude = half & Vector256.Create(MagnitudeMask);
        var shifted = Vector256.ShiftLeft(magnitude, 13);
        var finite = shifted.AsSingle() * Vector256.Create(Rebias);
        var special = (shifted | Vector256.Create(FloatExponentMask)).AsSingle();
        var isSpecial = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(InfinityOrNaN)).AsSingle();
        return (Vector256.ConditionalSelect(isSpecial, special, finite).AsUInt32() | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToSingle(Vector128<uint> half)
    {
        var sign = Vector128.ShiftLeft(half & Vector128.Create(SignMask), 16);
        var magnitude = half & Vector128.Create(MagnitudeMask);
        var shifted = Vector128.ShiftLeft(magnitude, 13);
        var finite = shifted.AsSingle() * Vector128.Create(Rebias);
        var special = (shifted | Vector128.Create(FloatExponentMask)).AsSingle();
        var isSpecial = Vector128.GreaterThanOrEqual(magnitude, Vector128.Create(InfinityOrNaN)).AsSingle();
        return (Vector128.ConditionalSelect(isSpecial, special, finite).AsUInt32() | sign).AsSingle();
    }
}
