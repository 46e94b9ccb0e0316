namespace Hearth.Backends.Cpu;

/// <summary>
/// The greedy pick fused into a Linear: each output chunk records, per input row, its largest value and where it
/// lies while the chunk is still in cache; <see cref="Reduce"/> then walks the chunks in column order. Saves the
/// separate argmax pass over the logits (19 MB at 32 parrot rows, 13 % of a step). Same rule as
/// <see cref="VectorArgMax"/>: the lowest index among equal maxima, NaNs never win, 0 when a row is all NaN.
/// </summary>
internal sealed unsafe class ChunkArgMax
{
    private float[] _values = [];  // [chunks, rows] the chunk's best value per row (NaN: none)
    private int[] _indices = [];   // [chunks, rows] its column
    private int _rows, _chunks;

    /// <summary>Sizes the table (grows once to the largest call); chunks are numbered in column order.</summary>
    public void Prepare(int rows, int chunks)
    {
        _rows = rows;
        _chunks = chunks;
        int needed = rows * chunks;
        if (_values.Length < needed)
        {
            _values = new float[needed];
            _indices = new int[needed];
        }
    }

    /// <summary>Records row r's best over y[r, start..end) (y rows outFeatures apart), for chunk number chunk.</summary>
    public void Record(int chunk, float* y, int rows, int outFeatures, int start, int end)
    {
        for (int r = 0; r < rows; r++)
        {
            var span = new ReadOnlySpan<float>(y + (nint)r * outFeatures + start, end - start);
            int best = VectorArgMax.IndexOfMax(span);
            _values[chunk * _rows + r] = span[best];
            _indices[chunk * _rows + r] = start + best;
        }
    }

    /// <summary>Records a chunk's picks made elsewhere: values[r] and its column indices[r] (-1: none) for each row.</summary>
    public void Set(int chunk, float* values, int* indices)
    {
        for (int r = 0; r < _rows; r++)
        {
            _values[chunk * _rows + r] = indices[r] < 0 ? float.NaN : values[r];
            _indices[chunk * _rows + r] = indices[r];
        }
    }

    /// <summary>ids[r] = the overall pick of row r.</summary>
    public void Reduce(int* ids)
    {
        for (int r = 0; r < _rows; r++)
        {
            int bestIndex = -1;
            float bestValue = float.NegativeInfinity;
            for (int c = 0; c < _chunks; c++)
            {
                float v = _values[c * _rows + r];
                if (float.IsNaN(v)) continue;
                // Strictly greater: an equal maximum in a later chunk lies at a higher column.
                if (bestIndex < 0 || v > bestValue)
                {
                    bestValue = v;
                    bestIndex = _indices[c * _rows + r];
                }
            }
            ids[r] = Math.Max(bestIndex, 0);
        }
    }
}
