using System.Runtime.CompilerServices;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>How a stored element type (weights, KV cache) is read as f32, at any vector width.</summary>
internal unsafe interface IElementKind
{
    static abstract TV Load<TS, TV>(byte* start, nint index) where TS : ISimd<TV> where TV : struct;

    static abstract float LoadScalar(byte* start, nint index);
}

internal readonly unsafe struct F32Kind : IElementKind
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(byte* start, nint index) where TS : ISimd<TV> where TV : struct =>
        TS.Load((float*)start + index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(byte* start, nint index) => ((float*)start)[index];
}

internal readonly unsafe struct Bf16Kind : IElementKind
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(byte* start, nint index) where TS : ISimd<TV> where TV : struct =>
        TS.LoadBf16((ushort*)start + index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(byte* start, nint index) => BFloat16Bits.ToSingle(((ushort*)start)[index]);
}

internal readonly unsafe struct F16Kind : IElementKind
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TS, TV>(byte* start, nint index) where TS : ISimd<TV> where TV : struct =>
        TS.LoadF16((ushort*)start + index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadScalar(byte* start, nint index) => (float)BitConverter.UInt16BitsToHalf(((ushort*)start)[index]);
}
