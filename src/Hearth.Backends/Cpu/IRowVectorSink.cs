using System.Runtime.Intrinsics;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Where the row-vector kernel's AVX-512 results go: each call hands over 16 rows (rowOffset, rowOffset + 15)
/// of eight consecutive output columns from column on (Take8), or of one column (Take1). A struct type
/// parameter, so the kernel is compiled once per sink with the sink inlined.
/// </summary>
internal interface IRowVectorSink
{
    void Take8(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
        Vector512<float> t4, Vector512<float> t5, Vector512<float> t6, Vector512<float> t7, int rowOffset, int column);

    void Take1(Vector512<float> t, int rowOffset, int column);
}
