using System.Runtime.InteropServices;
using Hearth.Backends.Cpu.Quant;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>
/// The CPU implementation of <see cref="IBackend"/>: f32 activations, BF16/F16/F32 weights read in place
/// (memory-mapped), SIMD kernels at the widest accelerated width, and a persistent worker pool. Ops run
/// synchronously on the calling thread plus the pool; one caller at a time. Ops allocate nothing.
/// </summary>
public sealed unsafe class CpuBackend : IBackend
{
    private readonly CpuWorkerPool _pool;
    private readonly ArgMaxRowsWork _argMaxRows = new();
    private readonly LinearWork _linear;
    private readonly QuantizedLinearWork _quantizedLinear;
    private readonly RowWork _rows = new();
    private readonly QkNormRopeWork _qkNormRope = new();
    private readonly AttentionWork _attention = new();
    private int _busy;

    /// <param name="numThreads">Threads that run ops, the caller included; 0 means Environment.ProcessorCount.</param>
    /// <param name="simdLevel">Vector width of the kernels; null picks <see cref="CpuSimd.Best"/>.</param>
    public CpuBackend(int numThreads = 0, CpuSimdLevel? simdLevel = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numThreads);
        NumThreads = numThreads == 0 ? Environment.ProcessorCount : numThreads;
        SimdLevel = simdLevel ?? CpuSimd.Best;
        _pool = new CpuWorkerPool(NumThreads);
        _linear = new LinearWork(NumThreads);
        _quantizedLinear = new QuantizedLinearWork(NumThreads);
    }

    public string Name => "cpu";

    public DType ActivationDType => DType.F32;

    public int NumThreads { get; }

    public CpuSimdLevel SimdLevel { get; }

    public DeviceBuffer Allocate(long sizeBytes) => new CpuBuffer(sizeBytes);

    public Tensor UploadWeight(Tensor host) => host;

    /// <summary>Zero-copy like <see cref="UploadWeight"/>; fails at load, not at the first step, on a format without a kernel.</summary>
    public QuantizedMatrix UploadQuantized(QuantizedMatrix host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Format != WeightFormat.Dense) QuantizedKernels.Require(host.Format).Check(host);
        return host;
    }

    public void CopyToDevice<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(source);
        if (bytes.Length > destination.SizeBytes)
            throw new ArgumentException($"{bytes.Length} bytes do not fit in {destination}");
        bytes.CopyTo(new Span<byte>((void*)destination.Data, bytes.Length));
    }

    public void CopyToHost<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(destination);
        if (bytes.Length > source.SizeBytes)
            throw new ArgumentException($"{source} holds fewer than the {bytes.Length} bytes asked for");
        new ReadOnlySpan<byte>((void*)source.Data, bytes.Length).CopyTo(bytes);
    }

    public void Synchronize()
    {
    }

    public void Embedding(Tensor table, Tensor tokenIds, Tensor output)
    {
        CpuChecks.WeightDType(table.DType, "embedding");
        CpuChecks.I32(tokenIds, "token ids");
        CpuChecks.F32(output, "embedding output");
        int tokens = checked((int)tokenIds.NumElements);
        if (table.Shape.Rank != 2) throw new ArgumentException($"embedding table {table.Shape} must be [vocab, hidden]");
        int vocab = table.Shape[0], hidden = table.Shape[1];
        if (output.Shape.Rank != 2 || output.Shape[0] != tokens || output.Shape[1] != hidden)
            throw new ArgumentException($"embedding output {output.Shape} is not [{tokens}, {hidden}]");
        int* ids = (int*)tokenIds.Data;
        for (int t = 0; t < tokens; t++)
        {
            if ((uint)ids[t] >= (uint)vocab) throw new HearthException($"token id {ids[t]} is outside the vocabulary of {vocab}");
        }
        using (Exclusive()) Run(_rows, _rows.Prepare(RowWork.Kind.Embedding, SimdLevel, tokens, hidden, null, null, (float*)output.Data,
            (byte*)table.Data, table.DType, ids, 0f, NumThreads));
    }

    public void QuantizedEmbedding(QuantizedMatrix table, Tensor tokenIds, Tensor output)
    {
        CpuChecks.I32(tokenIds, "token ids");
        CpuChecks.F32(output, "embedding output");
        int tokens = checked((int)tokenIds.NumElements), vocab = table.OutFeatures, hidden = table.InFeatures;
        if (output.Shape.Rank != 2 || output.Shape[0] != tokens || output.Shape[1] != hidden)
            throw new ArgumentException($"embedding output {output.Shape} is not [{tokens}, {hidden}]");
        var kernel = QuantizedKernels.For(table.Format)
            ?? throw new HearthException($"the CPU backend has no kernel for {table.Format} weights");
        int* ids = (int*)tokenIds.Data;
        float* rows = (float*)output.Data;
        using (Exclusive())
        {
            for (int t = 0; t < tokens; t++)
            {
                int id = ids[t];
                if ((uint)id >= (uint)vocab) throw new HearthException($"token id {id} is outside the vocabulary of {vocab}");
                if (!kernel.TryDequantizeRows(table, id, id + 1, rows + (nint)t * hidden))
                    throw new HearthException($"the CPU backend cannot look up rows of a {table.Format} embedding table");
            }
        }
    }

    public void RmsNorm(Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        int dim = CheckNorm(input, weight, output);
        using (Exclusive()) Run(_rows, _rows.Prepare(RowWork.Kind.RmsNorm, SimdLevel, input.Rows, dim, (float*)input.Data, null,
            (float*)output.Data, (byte*)weight.Data, weight.DType, null, epsilon, NumThreads));
    }

    public void AddRmsNorm(Tensor residual, Tensor input, Tensor weight, float epsilon, Tensor output)
    {
        int dim = CheckNorm(input, weight, output);
        CpuChecks.F32(residual, "residual");
        CpuChecks.SameShape(residual, input, "AddRmsNorm residual and input");
        using (Exclusive()) Run(_rows, _rows.Prepare(RowWork.Kind.AddRmsNorm, SimdLevel, input.Rows, dim, (float*)residual.Data,
            (float*)input.Data, (float*)output.Data, (byte*)weight.Data, weight.DType, null, epsilon, NumThreads));
    }

    private static int CheckNorm(Tensor input, Tensor weight, Tensor output)
    {
        CpuChecks.F32(input, "norm input");
        CpuChecks.F32(output, "norm output");
        CpuChecks.SameShape(input, output, "norm input and output");
        CpuChecks.WeightDType(weight.DType, "norm");
        int dim = CpuChecks.RowLength(input);
        if (weight.NumElements != dim) throw new ArgumentException($"norm weight has {weight.NumElements} elements, rows have {dim}");
        return dim;
    }

    public void Linear(Tensor input, LinearWeight weight, Tensor output)
    {
        using (Exclusive())
        {
            if (!weight.IsQuantized)
            {
                Run(_linear, _linear.Prepare(SimdLevel, input, weight, output, NumThreads));
                return;
            }
            Run(_quantizedLinear, _quantizedLinear.Prepare(SimdLevel, input, weight, output, NumThreads));
            Run(_quantizedLinear, _quantizedLinear.StartMultiply());
        }
    }

    /// <summary>
    /// <see cref="Linear"/> whose chunks also pick each row's largest output while it is in cache: ids[r] as
    /// <see cref="ArgMaxRows"/> would give, without a second pass over the output. ids [rows] I32.
    /// </summary>
    public void LinearArgMax(Tensor input, LinearWeight weight, Tensor output, Tensor ids)
    {
        CpuChecks.I32(ids, "LinearArgMax ids");
        if (ids.NumElements != input.Shape[0]) throw new ArgumentException($"LinearArgMax has {input.Shape[0]} rows but {ids.NumElements} ids");
        if (weight.IsQuantized)
        {
            Linear(input, weight, output);
            ArgMaxRows(output, ids);
            return;
        }
        using (Exclusive())
        {
            Run(_linear, _linear.PrepareWithArgMax(SimdLevel, input, weight, output, NumThreads));
            _linear.ReduceArgMax((int*)ids.Data);
        }
    }

    public void QkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value)
    {
        using (Exclusive()) Run(_qkNormRope, _qkNormRope.Prepare(SimdLevel, qkv, queryNorm, keyNorm, epsilon, positions, rope, query, key, value));
    }

    public void WriteKvCache(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping) =>
        KvCacheWriter.Write(key, value, cache, slotMapping);

    public void Attention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        using (Exclusive()) Run(_attention, _attention.Prepare(SimdLevel, query, cache, metadata, scale, output));
    }

    public void SiluMul(Tensor gateUp, Tensor output)
    {
        CpuChecks.F32(gateUp, "SiluMul input");
        CpuChecks.F32(output, "SiluMul output");
        int inter = CpuChecks.RowLength(output);
        if (gateUp.Shape.Rank != output.Shape.Rank || gateUp.Rows != output.Rows || CpuChecks.RowLength(gateUp) != 2 * inter)
            throw new ArgumentException($"SiluMul input {gateUp.Shape} is not output {output.Shape} with twice the columns");
        using (Exclusive()) Run(_rows, _rows.Prepare(RowWork.Kind.SiluMul, SimdLevel, output.Rows, inter, (float*)gateUp.Data, null,
            (float*)output.Data, null, DType.F32, null, 0f, NumThreads));
    }

    public void Add(Tensor a, Tensor b, Tensor output)
    {
        CpuChecks.F32(a, "Add input");
        CpuChecks.F32(b, "Add input");
        CpuChecks.F32(output, "Add output");
        CpuChecks.SameShape(a, b, "Add inputs");
        CpuChecks.SameShape(a, output, "Add input and output");
        int rows = a.Shape.Rank == 0 ? 1 : a.Rows;
        using (Exclusive()) Run(_rows, _rows.Prepare(RowWork.Kind.Add, SimdLevel, rows, CpuChecks.RowLength(a), (float*)a.Data, (float*)b.Data,
            (float*)output.Data, null, DType.F32, null, 0f, NumThreads));
    }

    public void GatherRows(Tensor input, Tensor rows, Tensor output)
    {
        CpuChecks.I32(rows, "GatherRows indices");
        if (input.DType != output.DType || input.Shape.Rank != output.Shape.Rank || CpuChecks.RowLength(input) != CpuChecks.RowLength(output))
            throw new ArgumentException($"GatherRows output {output.DType}{output.Shape} does not match input {input.DType}{input.Shape}");
        int count = checked((int)rows.NumElements);
        if (output.Rows != count) throw new ArgumentException($"GatherRows output has {output.Rows} rows, expected {count}");
        long rowBytes = CpuChecks.RowLength(input) * (long)input.DType.ElementSizeBytes();
        int* indices = (int*)rows.Data;
        for (int i = 0; i < count; i++)
        {
            int row = indices[i];
            if ((uint)row >= (uint)input.Rows) throw new ArgumentException($"GatherRows index {row} is outside {input.Rows} rows");
            Buffer.MemoryCopy((byte*)input.Data + row * rowBytes, (byte*)output.Data + i * rowBytes, rowBytes, rowBytes);
        }
    }

    /// <summary>
    /// ids[r] = the index of row r's largest logit (lowest among ties, NaNs skipped), rows spread over the pool.
    /// logits [rows, vocab] F32; ids [rows] I32.
    /// </summary>
    public void ArgMaxRows(Tensor logits, Tensor ids)
    {
        using (Exclusive()) Run(_argMaxRows, _argMaxRows.Prepare(logits, ids));
    }

    /// <summary>Managed bytes allocated by the pool's worker threads (not the caller's), for allocation tests.</summary>
    internal long WorkerAllocatedBytes => _pool.WorkerAllocatedBytes;

    private void Run(IParallelWork work, int numItems) => _pool.Run(work, numItems);

    /// <summary>
    /// Ops share one prepared job object each, so two threads calling at once would corrupt each other's
    /// arguments; this turns that misuse into an error instead.
    /// </summary>
    private CallScope Exclusive()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException("the CPU backend runs one op at a time but was called from two threads at once");
        return new CallScope(this);
    }

    private readonly struct CallScope(CpuBackend owner) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref owner._busy, 0);
    }

    public void Dispose()
    {
        _pool.Dispose();
        _linear.Dispose();
        _quantizedLinear.Dispose();
    }
}
