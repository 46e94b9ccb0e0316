using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu;

internal readonly unsafe struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Vector128<float> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadBf16(ushort* source) =>
        Vector128.ShiftLeft(Widen(source), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadF16(ushort* source) => HalfBits.ToSingle(Widen(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Widen(ushort* source) => Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)source).AsUInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x) => Vector128.Exp(x);

    /// <summary>
    /// Two shuffle-add steps. The BCL's Vector*.Sum reduces lane by lane in a long dependent chain, which
    /// costs more than the dot product it ends when head dims are small (attention scores).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> value)
    {
        var pairs = value + Vector128.Shuffle(value, Vector128.Create(2, 3, 0, 1));
        return (pairs + Vector128.Shuffle(pairs, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }
}
