using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>
/// One Linear call split over chunks of output features. Fused weights (q|k|v, gate|up) are walked part by
/// part so a chunk may straddle two parts without the parts being copied together.
/// </summary>
internal sealed unsafe class LinearWork : IParallelWork, IDisposable
{
    private const int MaxParts = 8;
    // From this many input rows on, a chunk of 16-bit weights is widened once into per-thread f32 scratch
    // and multiplied from there: the widening then costs 1/rows per FMA instead of sitting in the inner loop.
    private const int WidenOnceMinRows = 8;
    // Batches keep a chunk of weight rows this size in L2 while every block of input rows passes over it.
    private const int PrefillChunkBytes = 192 * 1024;

    private readonly nint[] _partData = new nint[MaxParts];
    private readonly int[] _partOffsets = new int[MaxParts + 1];
    private int _numParts;
    private CpuSimdLevel _level;
    private DType _dtype;
    private float* _x; // [rows, n]
    private float* _y; // [rows, outFeatures]
    private int _rows, _n, _outFeatures, _rowBytes, _chunk;
    private byte* _bias; // [outFeatures] or null
    private DType _biasType;
    private readonly PerThreadScratch _scratch; // per pool thread: f32 copy of a weight chunk
    private float* _xt;        // [n, paddedRows] the input transposed, when the row-vector kernel runs; else null
    private float* _xtBuffer;  // grown once to the largest call seen, freed on Dispose
    private long _xtBufferBytes;
    private int _paddedRows;
    private readonly ChunkArgMax _argMax = new();
    private bool _recordArgMax; // LinearArgMax: each chunk records its per-row maxima after its bias
    private bool _argMaxInRegisters; // ... folded from the row-vector kernel's registers; y is not written

    public LinearWork(int numThreads)
    {
        _scratch = new PerThreadScratch(numThreads);
    }

    /// <summary>Captures the call; returns the number of items to run.</summary>
    public int Prepare(CpuSimdLevel level, Tensor input, LinearWeight weight, Tensor output, int numThreads)
    {
        var parts = weight.Parts;
        int rows = CpuChecks.LinearShapes(input, weight, output, parts.Count, MaxParts);
        _dtype = weight.DType;
        CpuChecks.WeightDType(_dtype, "Linear");
        int offset = 0;
        for (int p = 0; p < parts.Count; p++)
        {
            if (parts[p].DType != _dtype) throw new ArgumentException($"Linear parts mix {_dtype} and {parts[p].DType}");
            _partData[p] = parts[p].Data;
            _partOffsets[p] = offset;
            offset += parts[p].Shape[0];
        }
        _partOffsets[parts.Count] = offset;
        _numParts = parts.Count;
        _bias = null;
        if (weight.Bias is { } bias)
        {
            CpuChecks.WeightDType(bias.DType, "Linear bias");
            _bias = (byte*)bias.Data;
            _biasType = bias.DType;
        }
        _level = level;
        _x = (float*)input.Data;
        _y = (float*)output.Data;
        _rows = rows;
        _n = weight.InFeatures;
        _outFeatures = weight.OutFeatures;
        _rowBytes = _n * _dtype.ElementSizeBytes();
        _chunk = LinearChunks.Size(rows, _outFeatures, _rowBytes, numThreads, PrefillChunkBytes);
        PrepareTransposedInput(level);
        _recordArgMax = false;
        _argMaxInRegisters = false;
        return rows == 0 ? 0 : (_outFeatures + _chunk - 1) / _chunk;
    }

    /// <summary>Like <see cref="Prepare"/>, and each chunk also records its per-row maxima for <see cref="ReduceArgMax"/>.</summary>
    public int PrepareWithArgMax(CpuSimdLevel level, Tensor input, LinearWeight weight, Tensor output, int numThreads)
    {
        int items = Prepare(level, input, weight, output, numThreads);
        _argMax.Prepare(_rows, items);
        _recordArgMax = true;
        // A bias would have to be added before the comparison: such calls keep the stored outputs.
        _argMaxInRegisters = _xt != null && _bias == null && _level == CpuSimdLevel.Vector512 && _paddedRows == RowVectorMaxRows;
        return items;
    }

    /// <summary>
    /// After the run: ids[r] = the column of row r's largest output (lowest among ties, NaNs skipped). When the
    /// row-vector kernel picked in its registers (17-32 rows, AVX-512, no bias), the output was not written.
    /// </summary>
    public void ReduceArgMax(int* ids) => _argMax.Reduce(ids);

    // Batches of more than one vector and at most this many rows multiply faster vectorized along the rows
    // (no horizontal sums; parrot lm_head at 32 rows 1.3-1.5x, down at 32 rows 1.2-1.5x, one thread); fewer rows
    // waste the vector on padding, and larger batches amortize the dot-product tiles' sums well enough.
    private const int RowVectorMaxRows = 32;

    private void PrepareTransposedInput(CpuSimdLevel level)
    {
        _xt = null;
        int lanes = level switch { CpuSimdLevel.Vector512 => 16, CpuSimdLevel.Vector256 => 8, CpuSimdLevel.Vector128 => 4, _ => 1 };
        if (_rows <= Math.Max(WidenOnceMinRows, lanes) || _rows > RowVectorMaxRows) return;
        _paddedRows = (_rows + 2 * lanes - 1) / (2 * lanes) * (2 * lanes);
        long bytes = (long)_n * _paddedRows * sizeof(float);
        if (_xtBufferBytes < bytes)
        {
            NativeMemory.AlignedFree(_xtBuffer);
            _xtBuffer = (float*)NativeMemory.AlignedAlloc((nuint)bytes, CpuBuffer.AlignmentBytes);
            _xtBufferBytes = bytes;
        }
        _xt = _xtBuffer;
        RowVectorLinearKernel.Transpose(_x, _rows, _n, _xt, _paddedRows);
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
        switch (_dtype)
        {
            case DType.BF16: ExecuteTyped<TS, TV, Bf16Kind>(item); break;
            case DType.F16: ExecuteTyped<TS, TV, F16Kind>(item); break;
            default: ExecuteTyped<TS, TV, F32Kind>(item); break;
        }
    }

    private void ExecuteTyped<TS, TV, TW>(int item) where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int start = item * _chunk;
        int end = Math.Min(start + _chunk, _outFeatures);
        float* bestValues = stackalloc float[RowVectorMaxRows]; // [paddedRows] the in-register pick's running maxima
        int* bestIndices = stackalloc int[RowVectorMaxRows];
        if (_argMaxInRegisters)
        {
            new Span<float>(bestValues, RowVectorMaxRows).Fill(float.NegativeInfinity);
            new Span<int>(bestIndices, RowVectorMaxRows).Fill(-1);
        }
        for (int p = 0; p < _numParts; p++)
        {
            int segmentStart = Math.Max(start, _partOffsets[p]);
            int segmentEnd = Math.Min(end, _partOffsets[p + 1]);
            if (segmentStart >= segmentEnd) continue;
            byte* part = (byte*)_partData[p];
            if (_xt != null)
            {
                if (typeof(TW) == typeof(F32Kind))
                {
                    if (_argMaxInRegisters)
                    {
                        RowVectorLinearKernel.RunArgMax(_xt, _paddedRows, _n, (float*)part, _partOffsets[p], segmentStart, segmentEnd,
                            bestValues, bestIndices);
                    }
                    else
                    {
                        RowVectorLinearKernel.Run<TS, TV>(_xt, _rows, _paddedRows, _n, (float*)part, _partOffsets[p],
                            segmentStart, segmentEnd, _y, _outFeatures);
                    }
                    continue;
                }
                if (StreamRowVector<TS, TV, TW>(part, _partOffsets[p], segmentStart, segmentEnd, bestValues, bestIndices)) continue;
                // Off the pool (no scratch): the dot-product kernels below read the 16-bit rows where they lie.
            }
            float* widened = typeof(TW) != typeof(F32Kind) && _rows >= WidenOnceMinRows
                ? _scratch.Get((long)(segmentEnd - segmentStart) * _n * sizeof(float)) : null;
            if (widened != null)
            {
                for (int j = segmentStart; j < segmentEnd; j++)
                {
                    RowKernels.Widen<TS, TV, TW>(part + (nint)(j - _partOffsets[p]) * _rowBytes,
                        widened + (nint)(j - segmentStart) * _n, _n);
                }
                LinearKernels.Run<TS, TV, F32Kind>(_x, _rows, _n, (byte*)widened, _n * sizeof(float), segmentStart,
                    segmentStart, segmentEnd, _y, _outFeatures);
            }
            else
            {
                LinearKernels.Run<TS, TV, TW>(_x, _rows, _n, part, _rowBytes, _partOffsets[p],
                    segmentStart, segmentEnd, _y, _outFeatures);
            }
            if (_argMaxInRegisters) FoldStored(segmentStart, segmentEnd, bestValues, bestIndices);
        }
        if (_bias != null) LinearChunks.AddBias(_y, _rows, _outFeatures, start, end, _bias, _biasType);
        if (_argMaxInRegisters) _argMax.Set(item, bestValues, bestIndices);
        else if (_recordArgMax) _argMax.Record(item, _y, _rows, _outFeatures, start, end);
    }

    /// <summary>Folds stored outputs y[r, start..end) into the in-register pick (a segment that could not stream).</summary>
    private void FoldStored(int start, int end, float* bestValues, int* bestIndices)
    {
        for (int r = 0; r < _rows; r++)
        {
            var segment = new ReadOnlySpan<float>(_y + (nint)r * _outFeatures + start, end - start);
            int best = VectorArgMax.IndexOfMax(segment);
            // Strictly greater (a NaN never is): an equal maximum here lies at a higher column than the one kept.
            if (segment[best] > bestValues[r])
            {
                bestValues[r] = segment[best];
                bestIndices[r] = start + best;
            }
        }
    }

    // The row-vector kernel uses each weight row once per call, so nothing is gained by widening a whole chunk
    // first; widening a few rows at a time just before they are multiplied keeps them in L1 and lets the DRAM
    // stream of the next rows (prefetched this far ahead) overlap the FMAs, instead of alternating a
    // memory-bound widening pass with a compute-bound one (parrot lm_head at 32 rows, one thread: 1.3-1.5x).
    private const int StreamBlockBytes = 8 * 1024;
    private const int PrefetchAheadBytes = 4 * 1024;

    /// <summary>Widens and multiplies [segmentStart, segmentEnd) a block of rows at a time; false without scratch.</summary>
    private bool StreamRowVector<TS, TV, TW>(byte* part, int partOffset, int segmentStart, int segmentEnd, float* bestValues, int* bestIndices)
        where TS : ISimd<TV> where TV : struct where TW : IElementKind
    {
        int blockRows = Math.Max(8, StreamBlockBytes / (_n * sizeof(float)) / 8 * 8);
        float* block = _scratch.Get((long)blockRows * _n * sizeof(float));
        if (block == null) return false;
        for (int j = segmentStart; j < segmentEnd; j += blockRows)
        {
            int count = Math.Min(blockRows, segmentEnd - j);
            byte* rowsStart = part + (nint)(j - partOffset) * _rowBytes;
            // Prefetches never fault, so reading past the part's end is harmless.
            RowKernels.Prefetch(rowsStart + PrefetchAheadBytes, (nint)count * _rowBytes);
            RowKernels.Widen<TS, TV, TW>(rowsStart, block, count * _n);
            if (_argMaxInRegisters) RowVectorLinearKernel.RunArgMax(_xt, _paddedRows, _n, block, j, j, j + count, bestValues, bestIndices);
            else RowVectorLinearKernel.Run<TS, TV>(_xt, _rows, _paddedRows, _n, block, j, j, j + count, _y, _outFeatures);
        }
        return true;
    }

    public void Dispose()
    {
        _scratch.Dispose();
        NativeMemory.AlignedFree(_xtBuffer);
        _xtBuffer = null;
        _xtBufferBytes = 0;
    }
}
