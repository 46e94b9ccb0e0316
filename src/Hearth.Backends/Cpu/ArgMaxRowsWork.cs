namespace Hearth.Backends.Cpu;

/// <summary>
/// The greedy token of each row of a logits batch, one row per item: a batch of 32 rows over a 151,936-token
/// vocabulary is 19 MB, which one thread reads in about twice the time the pool does.
/// </summary>
internal sealed unsafe class ArgMaxRowsWork : IParallelWork
{
    private float* _logits; // [rows, vocab]
    private int* _ids;      // [rows]
    private int _vocab;

    public int Prepare(Tensor logits, Tensor ids)
    {
        CpuChecks.F32(logits, "ArgMaxRows logits");
        CpuChecks.I32(ids, "ArgMaxRows ids");
        if (logits.Shape.Rank != 2) throw new ArgumentException($"ArgMaxRows logits {logits.Shape} must be [rows, vocab]");
        int rows = logits.Shape[0];
        if (ids.NumElements != rows) throw new ArgumentException($"ArgMaxRows has {rows} rows but {ids.NumElements} ids");
        _logits = (float*)logits.Data;
        _ids = (int*)ids.Data;
        _vocab = logits.Shape[1];
        return rows;
    }

    public void Execute(int item) =>
        _ids[item] = VectorArgMax.IndexOfMax(new ReadOnlySpan<float>(_logits + (nint)item * _vocab, _vocab));
}
