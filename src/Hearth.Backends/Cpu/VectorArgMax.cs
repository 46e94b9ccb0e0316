using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>
/// The index of a span's largest float, first occurrence, NaNs ignored: the greedy pick over a 151,936-token
/// vocabulary, which a scalar loop made a visible share of a batched CPU step. Two vector passes (the
/// maximum, then where it first occurs) keep the tie rule exact without tracking indices per lane.
/// </summary>
public static class VectorArgMax
{
    /// <summary>The index of the largest value, the lowest among ties; NaNs are skipped (0 when all are NaN).</summary>
    public static int IndexOfMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("no values to pick from", nameof(values));
        float max = Max(values);
        if (float.IsNaN(max) || float.IsNegativeInfinity(max)) return ScalarIndexOfMax(values);
        return FirstEqual(values, max);
    }

    // IEEE equality, so -0 and +0 tie as they do in the scalar rule.
    private static int FirstEqual(ReadOnlySpan<float> values, float target)
    {
        ref float start = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var t = Vector512.Create(target);
            for (; i + Vector512<float>.Count <= values.Length; i += Vector512<float>.Count)
                if (Vector512.EqualsAny(Vector512.LoadUnsafe(ref start, (nuint)i), t)) break;
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var t = Vector256.Create(target);
            for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref start, (nuint)i), t)) break;
        }
        for (; i < values.Length; i++) if (Unsafe.Add(ref start, i) == target) return i;
        return ScalarIndexOfMax(values);
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        ref float start = ref MemoryMarshal.GetReference(values);
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && values.Length >= 4 * Vector512<float>.Count)
        {
            var m0 = Vector512.Create(float.NegativeInfinity);
            var m1 = m0;
            for (; i + 2 * Vector512<float>.Count <= values.Length; i += 2 * Vector512<float>.Count)
            {
                // Max (not MaxNative) propagates NaN, so a NaN anywhere reaches the caller's check.
                m0 = Vector512.Max(m0, Vector512.LoadUnsafe(ref start, (nuint)i));
                m1 = Vector512.Max(m1, Vector512.LoadUnsafe(ref start, (nuint)(i + Vector512<float>.Count)));
            }
            max = HorizontalMax(Vector512.Max(m0, m1));
        }
        else if (Vector256.IsHardwareAccelerated && values.Length >= 4 * Vector256<float>.Count)
        {
            var m0 = Vector256.Create(float.NegativeInfinity);
            var m1 = m0;
            for (; i + 2 * Vector256<float>.Count <= values.Length; i += 2 * Vector256<float>.Count)
            {
                m0 = Vector256.Max(m0, Vector256.LoadUnsafe(ref start, (nuint)i));
                m1 = Vector256.Max(m1, Vector256.LoadUnsafe(ref start, (nuint)(i + Vector256<float>.Count)));
            }
            var m = Vector256.Max(m0, m1);
            for (int lane = 0; lane < Vector256<float>.Count; lane++) max = MaxScalar(max, m.GetElement(lane));
        }
        for (; i < values.Length; i++) max = MaxScalar(max, Unsafe.Add(ref start, i));
        return max;
    }

    private static float HorizontalMax(Vector512<float> m)
    {
        float max = float.NegativeInfinity;
        for (int lane = 0; lane < Vector512<float>.Count; lane++) max = MaxScalar(max, m.GetElement(lane));
        return max;
    }

    // Propagates NaN so that a NaN anywhere sends the caller to the scalar rule.
    private static float MaxScalar(float a, float b) => float.IsNaN(b) ? b : b > a ? b : a;

    private static int ScalarIndexOfMax(ReadOnlySpan<float> values)
    {
        int best = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i])) continue;
            if (best < 0 || values[i] > values[best]) best = i;
        }
        return best < 0 ? 0 : best;
    }
}
