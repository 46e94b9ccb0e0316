using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// A second, deliberately plain reference: scalar loops in double precision over host memory, F32
/// activations and KV cache, written from the op contract alone. Selected with "--reference naive" to tell
/// a CUDA bug from a CPU-backend bug when a parity check fails.
/// </summary>
internal sealed unsafe class NaiveReferenceBackend : IBackend
{
    public string Name => "naive";

    public DType ActivationDType => DType.F32;

    public DeviceBuffer Allocate(long sizeBytes) => new HostBuffer(sizeBytes);

    public Tensor UploadWeight(Tensor host) => host;

    public void CopyToDevice<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged =>
        source.CopyTo(new Span<T>((void*)destination.Data, source.Length));

    public void CopyToHost<T>(Tensor source, Span<T> destination) where T : unmanaged =>
        new ReadOnlySpan<T>((void*)source.Data, destination.Length).CopyTo(destination);

    public void Synchronize() { }

    public void Embedding(Tensor table, Tensor tokenIds, Tensor output)
    {
        int hidden = table.Shape[1];
        for (int t = 0; t < tokenIds.NumElements; t++)
        {
            int id = ((int*)tokenIds.Data)[t];
            for (int i = 0; i < hidden; i++) Set(output, (long)t * hidden + i, Get(table, (long)id * hidden + i));
        }
    }

    public void RmsNorm(Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        int dim = (int)weight.NumElements;
        for (long row = 0; row < input.NumElements / dim; row++) NormRow(input, row * dim, weight, dim, epsilon, output, row * dim);
    }

    public void AddRmsNorm(Tensor residual, Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        for (long i = 0; i < residual.NumElements; i++) Set(residual, i, Get(residual, i) + Get(input, i));
        RmsNorm(residual, weight, epsilon, output);
    }

    public void Linear(Tensor input, LinearWeight weight, Tensor output)
    {
        int inF = weight.InFeatures, outF = weight.OutFeatures;
        long rows = input.NumElements / inF;
        for (long r = 0; r < rows; r++)
        {
            int column = 0;
            foreach (var part in weight.Parts)
            {
                for (int o = 0; o < part.Shape[0]; o++, column++)
                {
                    double sum = weight.Bias is { } b ? Get(b, column) : 0;
                    for (int i = 0; i < inF; i++) sum += Get(input, r * inF + i) * Get(part, (long)o * inF + i);
                    Set(output, r * outF + column, sum);
                }
            }
        }
    }

    public void QkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value)
    {
        int tokens = query.Shape[0], heads = query.Shape[1], d = query.Shape[2], kvHeads = key.Shape[1];
        int width = (heads + 2 * kvHeads) * d, half = rope.RotaryDim / 2;
        var head = new double[d];
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads + 2 * kvHeads; h++)
            {
                long src = (long)t * width + (long)h * d;
                for (int i = 0; i < d; i++) head[i] = Get(qkv, src + i);
                if (h >= heads + kvHeads)
                {
                    for (int i = 0; i < d; i++) Set(value, ((long)t * kvHeads + h - heads - kvHeads) * d + i, head[i]);
                    continue;
                }
                var (dst, dstStart, norm) = h < heads ? (query, ((long)t * heads + h) * d, queryNorm) : (key, ((long)t * kvHeads + h - heads) * d, keyNorm);
                if (norm is { } w)
                {
                    double sumSquares = 0;
                    for (int i = 0; i < d; i++) sumSquares += head[i] * head[i];
                    double inverseRms = 1 / Math.Sqrt(sumSquares / d + epsilon);
                    for (int i = 0; i < d; i++) head[i] = head[i] * inverseRms * Get(w, i);
                }
                float position = ((int*)positions.Data)[t];
                for (int i = 0; i < d; i++) Set(dst, dstStart + i, head[i]);
                for (int i = 0; i < half; i++)
                {
                    float angle = position * ((float*)rope.InverseFrequencies.Data)[i];
                    double cos = Math.Cos(angle) * rope.AttentionScaling, sin = Math.Sin(angle) * rope.AttentionScaling;
                    Set(dst, dstStart + i, head[i] * cos - head[i + half] * sin);
                    Set(dst, dstStart + i + half, head[i + half] * cos + head[i] * sin);
                }
            }
        }
    }

    public void WriteKvCache(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        long row = (long)cache.NumKvHeads * cache.HeadDim;
        for (int t = 0; t < slotMapping.NumElements; t++)
        {
            int slot = ((int*)slotMapping.Data)[t];
            if (slot < 0) continue;
            for (long i = 0; i < row; i++)
            {
                Set(cache.Key, slot * row + i, Get(key, t * row + i));
                Set(cache.Value, slot * row + i, Get(value, t * row + i));
            }
        }
    }

    public void Attention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        int heads = query.Shape[1], d = query.Shape[2], kvHeads = cache.NumKvHeads, blockSize = cache.BlockSize;
        int maxBlocks = metadata.BlockTables.Shape[1];
        int* starts = (int*)metadata.QueryStartLocs.Data, seqLens = (int*)metadata.SeqLens.Data, tables = (int*)metadata.BlockTables.Data;
        for (int s = 0; s < metadata.NumSeqs; s++)
        {
            int queryLen = starts[s + 1] - starts[s];
            for (int j = 0; j < queryLen; j++)
            {
                int t = starts[s] + j, last = seqLens[s] - queryLen + j;
                for (int h = 0; h < heads; h++)
                {
                    int kvHead = h / (heads / kvHeads);
                    var scores = new double[last + 1];
                    double max = double.NegativeInfinity;
                    for (int p = 0; p <= last; p++)
                    {
                        long slot = (long)tables[s * maxBlocks + p / blockSize] * blockSize + p % blockSize;
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += Get(query, ((long)t * heads + h) * d + i) * Get(cache.Key, (slot * kvHeads + kvHead) * d + i);
                        scores[p] = dot * scale;
                        max = Math.Max(max, scores[p]);
                    }
                    double total = 0;
                    for (int p = 0; p <= last; p++) total += scores[p] = Math.Exp(scores[p] - max);
                    for (int i = 0; i < d; i++)
                    {
                        double acc = 0;
                        for (int p = 0; p <= last; p++)
                        {
                            long slot = (long)tables[s * maxBlocks + p / blockSize] * blockSize + p % blockSize;
                            acc += scores[p] * Get(cache.Value, (slot * kvHeads + kvHead) * d + i);
                        }
                        Set(output, ((long)t * heads + h) * d + i, acc / total);
                    }
                }
            }
        }
    }

    public void SiluMul(Tensor gateUp, Tensor output)
    {
        int inter = output.Shape[output.Shape.Rank - 1];
        for (long i = 0; i < output.NumElements; i++)
        {
            long row = i / inter, col = i % inter;
            double gate = Get(gateUp, row * 2 * inter + col), up = Get(gateUp, row * 2 * inter + inter + col);
            Set(output, i, gate / (1 + Math.Exp(-gate)) * up);
        }
    }

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        for (long i = 0; i < output.NumElements; i++) Set(output, i, Get(a, i) + Get(b, i));
    }

    public void GatherRows(Tensor input, Tensor rows, Tensor output)
    {
        long dim = input.Shape.RowElements;
        for (int r = 0; r < rows.NumElements; r++)
            for (long i = 0; i < dim; i++) Set(output, r * dim + i, Get(input, ((int*)rows.Data)[r] * dim + i));
    }

    public void Dispose() { }

    private static void NormRow(Tensor input, long start, Tensor weight, int dim, float epsilon, Tensor output, long outStart)
    {
        double sumSquares = 0;
        for (int i = 0; i < dim; i++) { double v = Get(input, start + i); sumSquares += v * v; }
        double inverseRms = 1 / Math.Sqrt(sumSquares / dim + epsilon);
        for (int i = 0; i < dim; i++) Set(output, outStart + i, Get(input, start + i) * inverseRms * Get(weight, i));
    }

    private static double Get(Tensor t, long i) => t.DType switch
    {
        DType.F32 => ((float*)t.Data)[i],
        DType.BF16 => BFloat16Bits.ToSingle(((ushort*)t.Data)[i]),
        DType.F16 => (double)((Half*)t.Data)[i],
        _ => throw new ArgumentException($"naive reference has no {t.DType} arithmetic"),
    };

    private static void Set(Tensor t, long i, double value)
    {
        if (t.DType != DType.F32) throw new ArgumentException($"naive reference writes F32, not {t.DType}");
        ((float*)t.Data)[i] = (float)value;
    }

    private sealed class HostBuffer : DeviceBuffer
    {
        private nint _data;

        public HostBuffer(long sizeBytes)
        {
            _data = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(sizeBytes, 64), 64);
            NativeMemory.Clear((void*)_data, (nuint)Math.Max(sizeBytes, 64));
            SizeBytes = sizeBytes;
        }

        public override nint Data => _data;

        public override long SizeBytes { get; }

        public override void Dispose()
        {
            if (_data == 0) return;
            NativeMemory.AlignedFree((void*)_data);
            _data = 0;
        }
    }
}
