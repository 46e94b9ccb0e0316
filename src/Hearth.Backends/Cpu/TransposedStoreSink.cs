using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>Stores the row-vector kernel's results into y [rows, outFeatures] (row 0 at y).</summary>
internal readonly unsafe struct TransposedStoreSink(float* y, int outFeatures) : IRowVectorSink
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Take8(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
        Vector512<float> t4, Vector512<float> t5, Vector512<float> t6, Vector512<float> t7, int rowOffset, int column)
    {
        float* at = y + (nint)rowOffset * outFeatures + column;
        RowVectorLinearKernel.StoreTransposed(t0, t1, t2, t3, at, outFeatures);
        RowVectorLinearKernel.StoreTransposed(t4, t5, t6, t7, at + 4, outFeatures);
    }

    public void Take1(Vector512<float> t, int rowOffset, int column)
    {
        float* at = y + (nint)rowOffset * outFeatures + column;
        for (int r = 0; r < Vector512<float>.Count; r++) at[(nint)r * outFeatures] = t[r];
    }
}
