using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hearth.Core;

namespace Hearth.Backends.Cpu.Quant;

/// <summary>
/// One Linear call over <see cref="QuantizedMatrix"/> parts, in two pool jobs: every part's kernel prepares
/// each input row, then chunks of output features run part by part (a chunk may straddle two parts, whose
/// formats may differ). Weights are read in their packed form; nothing is dequantized whole.
/// </summary>
internal sealed unsafe class QuantizedLinearWork : IParallelWork, IDisposable
{
    private const int MaxParts = 8;
    private const int PrefillChunkBytes = 96 * 1024;
    // From this many input rows on, a chunk of weights is dequantized once into per-thread f32 scratch (when the
    // kernel offers it) and multiplied by the dense kernel: the dequantization then costs 1/rows per FMA.
    private const int DequantizeOnceMinRows = 8;

    private readonly QuantizedMatrix?[] _parts = new QuantizedMatrix?[MaxParts];
    private readonly IQuantizedLinearKernel?[] _kernels = new IQuantizedLinearKernel?[MaxParts];
    private readonly int[] _partOffsets = new int[MaxParts + 1];
    private readonly long[] _preparedOffsets = new long[MaxParts]; // bytes into _prepared of each part's rows
    private readonly long[] _preparedRowBytes = new long[MaxParts];
    private int _numParts;
    private bool _multiplying;
    private CpuSimdLevel _level;
    private float* _x; // [rows, in]
    private float* _y; // [rows, outFeatures]
    private int _rows, _n, _outFeatures, _chunk;
    private byte* _bias; // [outFeatures] or null
    private DType _biasType;
    private byte* _prepared; // native, grown on the calling thread only
    private long _preparedBytes;
    private readonly PerThreadScratch _scratch; // per pool thread: f32 copy of a weight chunk

    public QuantizedLinearWork(int numThreads) => _scratch = new PerThreadScratch(numThreads);

    /// <summary>Captures the call; returns the number of items of the first job (input preparation).</summary>
    public int Prepare(CpuSimdLevel level, Tensor input, LinearWeight weight, Tensor output, int numThreads)
    {
        var parts = weight.QuantizedParts;
        int rows = CpuChecks.LinearShapes(input, weight, output, parts.Count, MaxParts);
        int offset = 0;
        long preparedTotal = 0, maxRowBytes = 0;
        for (int p = 0; p < parts.Count; p++)
        {
            var part = parts[p];
            _parts[p] = part;
            _partOffsets[p] = offset;
            offset += part.OutFeatures;
            if (part.Format == WeightFormat.Dense)
            {
                CpuChecks.WeightDType(part.Data.DType, "Linear");
                _kernels[p] = null;
                _preparedRowBytes[p] = 0;
                maxRowBytes = Math.Max(maxRowBytes, part.RowBytes);
                continue;
            }
            var kernel = QuantizedKernels.Require(part.Format);
            kernel.Check(part);
            _kernels[p] = kernel;
            _preparedRowBytes[p] = (kernel.PreparedRowBytes(part) + 63) & ~63L;
            _preparedOffsets[p] = preparedTotal;
            preparedTotal += _preparedRowBytes[p] * rows;
            maxRowBytes = Math.Max(maxRowBytes, part.RowBytes);
        }
        _partOffsets[parts.Count] = offset;
        _numParts = parts.Count;
        EnsurePrepared(preparedTotal);
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
        // Batches dequantize chunks to f32, so the chunk that must stay in cache is the widened one.
        _chunk = LinearChunks.Size(rows, _outFeatures, rows >= DequantizeOnceMinRows ? (long)_n * sizeof(float) : maxRowBytes, numThreads,
            PrefillChunkBytes);
        _multiplying = false;
        return rows * _numParts;
    }

    /// <summary>Switches to the second job; returns its number of items.</summary>
    public int StartMultiply()
    {
        _multiplying = true;
        return _rows == 0 ? 0 : (_outFeatures + _chunk - 1) / _chunk;
    }

    public void Execute(int item)
    {
        if (!_multiplying)
        {
            int r = item / _numParts, p = item % _numParts;
            if (_preparedRowBytes[p] == 0) return;
            _kernels[p]!.PrepareRow(_level, _parts[p]!, _x + (nint)r * _n, PreparedRow(p, r));
            return;
        }
        int start = item * _chunk;
        int end = Math.Min(start + _chunk, _outFeatures);
        for (int p = 0; p < _numParts; p++)
        {
            int segmentStart = Math.Max(start, _partOffsets[p]);
            int segmentEnd = Math.Min(end, _partOffsets[p + 1]);
            if (segmentStart >= segmentEnd) continue;
            var part = _parts[p]!;
            if (_kernels[p] is { } kernel)
            {
                float* widened = _rows >= DequantizeOnceMinRows ? _scratch.Get((long)(segmentEnd - segmentStart) * _n * sizeof(float)) : null;
                if (widened != null && kernel.TryDequantizeRows(part, segmentStart - _partOffsets[p], segmentEnd - _partOffsets[p], widened))
                {
                    RunWidened(widened, segmentStart, segmentEnd);
                    continue;
                }
                kernel.Run(_level, part, _x, PreparedRow(p, 0), _rows, segmentStart - _partOffsets[p],
                    segmentEnd - _partOffsets[p], _y + _partOffsets[p], _outFeatures);
            }
            else
            {
                RunDense(part, _partOffsets[p], segmentStart, segmentEnd);
            }
        }
        if (_bias != null) LinearChunks.AddBias(_y, _rows, _outFeatures, start, end, _bias, _biasType);
    }

    private byte* PreparedRow(int part, int row) => _prepared + _preparedOffsets[part] + _preparedRowBytes[part] * row;

    private void RunDense(QuantizedMatrix part, int partOffset, int start, int end)
    {
        switch (_level)
        {
            case CpuSimdLevel.Vector512: RunDense<Simd512, Vector512<float>>(part, partOffset, start, end); break;
            case CpuSimdLevel.Vector256: RunDense<Simd256, Vector256<float>>(part, partOffset, start, end); break;
            case CpuSimdLevel.Vector128: RunDense<Simd128, Vector128<float>>(part, partOffset, start, end); break;
            default: RunDense<SimdScalar, float>(part, partOffset, start, end); break;
        }
    }

    private void RunDense<TS, TV>(QuantizedMatrix part, int partOffset, int start, int end) where TS : ISimd<TV> where TV : struct
    {
        byte* w = (byte*)part.Data.Data;
        int rowBytes = (int)part.RowBytes;
        switch (part.Data.DType)
        {
            case DType.BF16: LinearKernels.Run<TS, TV, Bf16Kind>(_x, _rows, _n, w, rowBytes, partOffset, start, end, _y, _outFeatures); break;
            case DType.F16: LinearKernels.Run<TS, TV, F16Kind>(_x, _rows, _n, w, rowBytes, partOffset, start, end, _y, _outFeatures); break;
            default: LinearKernels.Run<TS, TV, F32Kind>(_x, _rows, _n, w, rowBytes, partOffset, start, end, _y, _outFeatures); break;
        }
    }

    private void RunWidened(float* widened, int start, int end)
    {
        switch (_level)
        {
            case CpuSimdLevel.Vector512: LinearKernels.Run<Simd512, Vector512<float>, F32Kind>(_x, _rows, _n, (byte*)widened, _n * sizeof(float), start, start, end, _y, _outFeatures); break;
            case CpuSimdLevel.Vector256: LinearKernels.Run<Simd256, Vector256<float>, F32Kind>(_x, _rows, _n, (byte*)widened, _n * sizeof(float), start, start, end, _y, _outFeatures); break;
            case CpuSimdLevel.Vector128: LinearKernels.Run<Simd128, Vector128<float>, F32Kind>(_x, _rows, _n, (byte*)widened, _n * sizeof(float), start, start, end, _y, _outFeatures); break;
            default: LinearKernels.Run<SimdScalar, float, F32Kind>(_x, _rows, _n, (byte*)widened, _n * sizeof(float), start, start, end, _y, _outFeatures); break;
        }
    }

    private void EnsurePrepared(long sizeBytes)
    {
        if (sizeBytes <= _preparedBytes) return;
        NativeMemory.AlignedFree(_prepared);
        _prepared = (byte*)NativeMemory.AlignedAlloc((nuint)sizeBytes, CpuBuffer.AlignmentBytes);
        _preparedBytes = sizeBytes;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_prepared);
        _prepared = null;
        _preparedBytes = 0;
        _scratch.Dispose();
    }
}
