using System.Runtime.CompilerServices;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>The fallback: one float at a time, no vector instructions.</summary>
internal readonly unsafe struct SimdScalar : ISimd<float>
{
    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(float* source) => *source;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, float value) => *destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadBf16(ushort* source) => BFloat16Bits.ToSingle(*source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadF16(ushort* source) => (float)BitConverter.UInt16BitsToHalf(*source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float a, float b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Divide(float a, float b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x) => MathF.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(float value) => value;
}
