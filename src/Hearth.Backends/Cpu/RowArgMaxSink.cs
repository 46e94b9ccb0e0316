using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Folds the row-vector kernel's results into running per-row maxima instead of storing them: a greedy step's
/// logits (19 MB at 32 parrot rows) are then never written, and no second pass reads them back. values [32]
/// and indices [32] start at -∞ and -1. Columns arrive in increasing order and only a strictly larger value
/// replaces a maximum, so the first of equal maxima stays; NaNs never win (vmaxps returns its second operand
/// when either is NaN, so a NaN column drops out of the block's maximum).
/// </summary>
internal readonly unsafe struct RowArgMaxSink(float* values, int* indices) : IRowVectorSink
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Take8(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
        Vector512<float> t4, Vector512<float> t5, Vector512<float> t6, Vector512<float> t7, int rowOffset, int column)
    {
        var m = Vector512.Create(float.NegativeInfinity);
        m = Avx512F.Max(t0, m); m = Avx512F.Max(t1, m); m = Avx512F.Max(t2, m); m = Avx512F.Max(t3, m);
        m = Avx512F.Max(t4, m); m = Avx512F.Max(t5, m); m = Avx512F.Max(t6, m); m = Avx512F.Max(t7, m);
        var best = Vector512.Load(values + rowOffset);
        var improved = Avx512F.CompareGreaterThan(m, best);
        // Past the first columns a new maximum is rare: the common case is one compare and a branch.
        if (improved.ExtractMostSignificantBits() == 0) return;
        // The first column holding the new maximum, per row: scanned from the last so the lowest one is left.
        var index = Vector512.Create(column + 7);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t6, m).AsInt32(), Vector512.Create(column + 6), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t5, m).AsInt32(), Vector512.Create(column + 5), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t4, m).AsInt32(), Vector512.Create(column + 4), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t3, m).AsInt32(), Vector512.Create(column + 3), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t2, m).AsInt32(), Vector512.Create(column + 2), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t1, m).AsInt32(), Vector512.Create(column + 1), index);
        index = Vector512.ConditionalSelect(Avx512F.CompareEqual(t0, m).AsInt32(), Vector512.Create(column), index);
        Store(improved, m, index, rowOffset);
    }

    public void Take1(Vector512<float> t, int rowOffset, int column)
    {
        var m = Avx512F.Max(t, Vector512.Create(float.NegativeInfinity));
        var improved = Avx512F.CompareGreaterThan(m, Vector512.Load(values + rowOffset));
        if (improved.ExtractMostSignificantBits() != 0) Store(improved, m, Vector512.Create(column), rowOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store(Vector512<float> improved, Vector512<float> m, Vector512<int> index, int rowOffset)
    {
        Vector512.ConditionalSelect(improved, m, Vector512.Load(values + rowOffset)).Store(values + rowOffset);
        Vector512.ConditionalSelect(improved.AsInt32(), index, Vector512.Load(indices + rowOffset)).Store(indices + rowOffset);
    }
}
