using System.Runtime.Intrinsics;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>The row-wise ops (norms, SiluMul, Add, Embedding) split over chunks of rows.</summary>
internal sealed unsafe class RowWork : IParallelWork
{
    public enum Kind { RmsNorm, AddRmsNorm, SiluMul, Add, Embedding }

    // Below this many elements per chunk, waking other threads costs more than the op.
    private const int MinChunkElements = 16 * 1024;

    private Kind _kind;
    private CpuSimdLevel _level;
    private DType _weightType;
    private float* _a, _b, _y;
    private byte* _weight;
    private int* _ids;
    private int _rows, _dim, _chunkRows;
    private float _epsilon;

    /// <summary>Captures an op over [rows, dim]; returns the number of items.</summary>
    public int Prepare(Kind kind, CpuSimdLevel level, int rows, int dim, float* a, float* b, float* y,
        byte* weight, DType weightType, int* ids, float epsilon, int numThreads)
    {
        _kind = kind;
        _level = level;
        _rows = rows;
        _dim = dim;
        _a = a;
        _b = b;
        _y = y;
        _weight = weight;
        _weightType = weightType;
        _ids = ids;
        _epsilon = epsilon;
        long elements = (long)rows * dim;
        int maxItems = (int)Math.Clamp(elements / MinChunkElements, 1, numThreads * 4L);
        _chunkRows = Math.Max(1, (rows + maxItems - 1) / maxItems);
        return rows == 0 ? 0 : (rows + _chunkRows - 1) / _chunkRows;
    }

    public void Execute(int item)
    {
        switch (_level)
        {
            case CpuSimdLevel.Vector512: ExecuteAt<Simd512, Vector512<float>>(item); break;
            case CpuSimdLevel.Vector256: ExecuteAt<Simd256, Vector256<float>>(item); break;
            case CpuSimdLevel.Vector128: ExecuteAt<Simd128, Vector128<float>>(item); break;
            default: ExecuteAt<SimdScalar, float>(item); break;
        }
    }

    private void ExecuteAt<TS, TV>(int item) where TS : ISimd<TV> where TV : struct
    {
        switch (_weightType)
        {
            case DType.BF16: ExecuteTyped<TS, TV, Bf16Kind>(item); break;
            case DType.F16: ExecuteTyped<TS, TV, F16Kind>(item); break;
            default: ExecuteTyped<TS, TV, F32Kind>(item); break;
        }
    }

    private void ExecuteTyped<TS, TV, TW>(int item) where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int start = item * _chunkRows;
        int end = Math.Min(start + _chunkRows, _rows);
        int dim = _dim;
        for (int r = start; r < end; r++)
        {
            nint o = (nint)r * dim;
            switch (_kind)
            {
                case Kind.RmsNorm:
                    RowKernels.RmsNorm<TS, TV, TW>(_a + o, _weight, _y + o, dim, _epsilon);
                    break;
                case Kind.AddRmsNorm:
                    RowKernels.AddRmsNorm<TS, TV, TW>(_a + o, _b + o, _weight, _y + o, dim, _epsilon);
                    break;
                case Kind.SiluMul:
                    RowKernels.SiluMul<TS, TV>(_a + 2 * o, _a + 2 * o + dim, _y + o, dim);
                    break;
                case Kind.Add:
                    RowKernels.Add<TS, TV>(_a + o, _b + o, _y + o, dim);
                    break;
                case Kind.Embedding:
                    RowKernels.Widen<TS, TV, TW>(_weight + (nint)_ids[r] * dim * _weightType.ElementSizeBytes(), _y + o, dim);
                    break;
            }
        }
    }
}
