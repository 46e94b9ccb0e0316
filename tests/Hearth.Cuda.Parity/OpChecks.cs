using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>Element-wise, norm, linear and RoPE ops on odd shapes: CUDA against the reference backend.</summary>
internal sealed class OpChecks(BackendPair pair, ParityReport report, RandomData random)
{
    // bf16 has an 8-bit mantissa: one rounding of the output is a relative error of at most 2^-9.
    private const double OneRounding = 8e-3;
    private const double TwoRoundings = 1.6e-2;

    private IBackend Ref => pair.Reference;
    private IBackend Gpu => pair.Cuda;

    public void RunAll()
    {
        Guard("embedding [1000x77] 13 ids", () => Embedding(1000, 77, 13));
        foreach (var (rows, dim) in new[] { (1, 64), (7, 1001), (3, 4096) })
            Guard($"rms_norm [{rows}, {dim}]", () => RmsNorm(rows, dim));
        foreach (var (rows, dim) in new[] { (1, 64), (5, 333), (1, 5120), (70, 1024) })
            Guard($"add_rms_norm [{rows}, {dim}]", () => AddRmsNorm(rows, dim));
        foreach (var (rows, inF, parts) in new[] { (1, 257, new[] { 131 }), (3, 96, new[] { 37, 19, 19 }), (17, 1024, new[] { 512, 128, 128 }), (64, 200, new[] { 300, 300 }),
            (2, 512, new[] { 384, 64, 64 }), (4, 1024, new[] { 700 }), (1, 2048, new[] { 1000, 1000 }), (4, 17408, new[] { 96 }) })
            Guard($"linear bf16 rows={rows} in={inF} parts=[{string.Join(",", parts)}]", () => Linear(rows, inF, parts, DType.BF16, withBias: false));
        // Parts uploaded as one fused projection: one GEMM over all of them (the decode rows above the GEMV's and prefill).
        foreach (var (rows, inF, parts) in new[] { (32, 512, new[] { 384, 64, 64 }), (17, 1024, new[] { 512, 128, 128 }), (64, 200, new[] { 300, 300 }), (2, 96, new[] { 37, 19, 19 }) })
            Guard($"linear bf16 fused rows={rows} in={inF} parts=[{string.Join(",", parts)}]", () => Linear(rows, inF, parts, DType.BF16, withBias: false, fused: true));
        Guard("linear fused bias host-F32 rows=33 in=40 parts=[13,7]", () => Linear(33, 40, [13, 7], DType.BF16, withBias: true, DType.F32, fused: true));
        Guard("linear f32-out rows=2 in=64 out=1003 (lm_head)", () => Linear(2, 64, [1003], DType.F32, withBias: false));
        Guard("linear f32-out rows=1 in=64 out=151936 (parrot lm_head)", () => Linear(1, 64, [151936], DType.F32, withBias: false));
        Guard("linear bias rows=4 in=40 parts=[13,7]", () => Linear(4, 40, [13, 7], DType.BF16, withBias: true));
        Guard("linear f32 host weights rows=5 in=72 parts=[40]", () => Linear(5, 72, [40], DType.BF16, withBias: false, DType.F32));
        Guard("linear f16 host weights rows=5 in=72 parts=[40]", () => Linear(5, 72, [40], DType.BF16, withBias: false, DType.F16));
        Guard("qk_norm_rope t=5 h=4 kv=2 d=32 norms", () => QkNormRope(5, 4, 2, 32, 32, true, 1f));
        // The warp-per-head kernel (head dim 64/128/256, rotary half a multiple of 32).
        Guard("qk_norm_rope t=7 h=8 kv=2 d=128 norms", () => QkNormRope(7, 8, 2, 128, 128, true, 1f));
        Guard("qk_norm_rope t=3 h=4 kv=1 d=64 yarn-scaled", () => QkNormRope(3, 4, 1, 64, 64, false, 1.1f));
        Guard("qk_norm_rope t=2 h=4 kv=2 d=128 rotary=64 norms", () => QkNormRope(2, 4, 2, 128, 64, true, 1f));
        Guard("qk_norm_rope t=3 h=8 kv=2 d=128 norms", () => QkNormRope(3, 8, 2, 128, 128, true, 1f));
        Guard("qk_norm_rope t=4 h=2 kv=1 d=64 no-norm partial-rotary=32 scaling=1.25", () => QkNormRope(4, 2, 1, 64, 32, false, 1.25f));
        Guard("silu_mul [3, 191]", () => SiluMul(3, 191));
        Guard("silu_mul [5, 1024] (8 at a time)", () => SiluMul(5, 1024));
        Guard("add [7, 99]", () => Add(7, 99));
        Guard("gather_rows [9, 45] -> 3 rows", () => GatherRows(9, 45, [8, 0, 4]));
    }

    private void Guard(string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }

    private void Embedding(int vocab, int hidden, int tokens)
    {
        float[] table = random.Uniform((long)vocab * hidden);
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) ids[i] = random.Next(vocab);
        ids[0] = 0;
        ids[^1] = vocab - 1;
        float[] Run(IBackend b)
        {
            var t = pair.Weight(b, table, new Shape(vocab, hidden), DType.BF16);
            var output = pair.Zeros(b, new Shape(tokens, hidden), b.ActivationDType);
            b.Embedding(t, pair.Ints(b, ids, new Shape(tokens)), output);
            return pair.Download(b, output);
        }
        report.Compare($"embedding [{vocab}x{hidden}] {tokens} ids", Run(Ref), Run(Gpu), 0, 0);
    }

    private void RmsNorm(int rows, int dim)
    {
        float[] x = random.Uniform((long)rows * dim, -3, 3), w = random.Uniform(dim, 0.5f, 1.5f);
        float[] Run(IBackend b)
        {
            var output = pair.Zeros(b, new Shape(rows, dim), b.ActivationDType);
            b.RmsNorm(pair.Activation(b, x, new Shape(rows, dim)), pair.Weight(b, w, new Shape(dim), DType.F32), 1e-6f, output);
            return pair.Download(b, output);
        }
        report.Compare($"rms_norm [{rows}, {dim}]", Run(Ref), Run(Gpu), OneRounding, 1e-3);
    }

    private void AddRmsNorm(int rows, int dim)
    {
        float[] residual = random.Uniform((long)rows * dim, -3, 3), x = random.Uniform((long)rows * dim), w = random.Uniform(dim, 0.5f, 1.5f);
        (float[], float[]) Run(IBackend b)
        {
            var r = pair.Activation(b, residual, new Shape(rows, dim));
            var output = pair.Zeros(b, new Shape(rows, dim), b.ActivationDType);
            b.AddRmsNorm(r, pair.Activation(b, x, new Shape(rows, dim)), pair.Weight(b, w, new Shape(dim), DType.F32), 1e-6f, output);
            return (pair.Download(b, output), pair.Download(b, r));
        }
        var (refOut, refResidual) = Run(Ref);
        var (gpuOut, gpuResidual) = Run(Gpu);
        report.Compare($"add_rms_norm [{rows}, {dim}] residual", refResidual, gpuResidual, OneRounding, 1e-3);
        report.Compare($"add_rms_norm [{rows}, {dim}] output", refOut, gpuOut, TwoRoundings, 2e-3);
    }

    private void Linear(int rows, int inFeatures, int[] partSizes, DType outputType, bool withBias, DType hostWeightType = DType.BF16, bool fused = false)
    {
        float[] x = random.Uniform((long)rows * inFeatures);
        var parts = partSizes.Select(n => random.Uniform((long)n * inFeatures, -0.2f, 0.2f)).ToArray();
        int outFeatures = partSizes.Sum();
        float[]? bias = withBias ? random.Uniform(outFeatures) : null;
        float[] Run(IBackend b)
        {
            var shapes = partSizes.Select(n => new Shape(n, inFeatures)).ToArray();
            var tensors = fused
                ? pair.FusedWeight(b, parts, shapes, hostWeightType)
                : parts.Select((p, i) => pair.Weight(b, p, shapes[i], hostWeightType)).ToArray();
            Tensor? biasTensor = bias is null ? null : pair.Weight(b, bias, new Shape(outFeatures), DType.BF16);
            var weight = new LinearWeight(WeightFormat.Dense, tensors, biasTensor);
            if (fused && b == Gpu && !weight.PartsAreContiguous) throw new InvalidOperationException("UploadFusedWeight did not place the parts back to back");
            DType outType = outputType == DType.F32 ? DType.F32 : b.ActivationDType;
            var output = pair.Zeros(b, new Shape(rows, outFeatures), outType);
            b.Linear(pair.Activation(b, x, new Shape(rows, inFeatures)), weight, output);
            return pair.Download(b, output);
        }
        string name = $"linear {(outputType == DType.F32 ? "f32-out" : "bf16")}{(fused ? " fused" : "")} rows={rows} in={inFeatures} parts=[{string.Join(",", partSizes)}]{(withBias ? " bias" : "")}{(hostWeightType != DType.BF16 ? $" host-{hostWeightType}" : "")}";
        if (outputType == DType.F32) report.Compare(name, Run(Ref), Run(Gpu), 1e-3, 1e-3);
        else report.Compare(name, Run(Ref), Run(Gpu), OneRounding, 2e-3);
    }

    internal void QkNormRope(int tokens, int heads, int kvHeads, int headDim, int rotaryDim, bool norms, float scaling)
    {
        int width = (heads + 2 * kvHeads) * headDim;
        float[] qkv = random.Uniform((long)tokens * width, -2, 2);
        float[] qNorm = random.Uniform(headDim, 0.5f, 1.5f), kNorm = random.Uniform(headDim, 0.5f, 1.5f);
        int[] positions = new int[tokens];
        for (int i = 0; i < tokens; i++) positions[i] = i == 0 ? 0 : random.Next(40000);
        float[] invFreq = new float[rotaryDim / 2];
        for (int i = 0; i < invFreq.Length; i++) invFreq[i] = (float)(1.0 / Math.Pow(1_000_000.0, 2.0 * i / rotaryDim));
        float[][] Run(IBackend b)
        {
            var q = pair.Zeros(b, new Shape(tokens, heads, headDim), b.ActivationDType);
            var k = pair.Zeros(b, new Shape(tokens, kvHeads, headDim), b.ActivationDType);
            var v = pair.Zeros(b, new Shape(tokens, kvHeads, headDim), b.ActivationDType);
            var rope = new RopeParameters(pair.Upload(b, invFreq, new Shape(invFreq.Length), DType.F32), scaling);
            Tensor? qn = norms ? pair.Weight(b, qNorm, new Shape(headDim), DType.F32) : null;
            Tensor? kn = norms ? pair.Weight(b, kNorm, new Shape(headDim), DType.F32) : null;
            b.QkNormRope(pair.Activation(b, qkv, new Shape(tokens, width)), qn, kn, 1e-6f, pair.Ints(b, positions, new Shape(tokens)), rope, q, k, v);
            return [pair.Download(b, q), pair.Download(b, k), pair.Download(b, v)];
        }
        var expected = Run(Ref);
        var actual = Run(Gpu);
        string name = $"qk_norm_rope t={tokens} h={heads} kv={kvHeads} d={headDim} rot={rotaryDim}{(norms ? " norms" : "")} scaling={scaling}";
        report.Compare(name + " query", expected[0], actual[0], TwoRoundings, 4e-3);
        report.Compare(name + " key", expected[1], actual[1], TwoRoundings, 4e-3);
        report.Compare(name + " value", expected[2], actual[2], 0, 0);
    }

    private void SiluMul(int rows, int inter)
    {
        float[] gateUp = random.Uniform((long)rows * 2 * inter, -6, 6);
        float[] Run(IBackend b)
        {
            var output = pair.Zeros(b, new Shape(rows, inter), b.ActivationDType);
            b.SiluMul(pair.Activation(b, gateUp, new Shape(rows, 2 * inter)), output);
            return pair.Download(b, output);
        }
        report.Compare($"silu_mul [{rows}, {inter}]", Run(Ref), Run(Gpu), OneRounding, 1e-3);
    }

    private void Add(int rows, int dim)
    {
        float[] a = random.Uniform((long)rows * dim), c = random.Uniform((long)rows * dim);
        float[] Run(IBackend b)
        {
            var output = pair.Zeros(b, new Shape(rows, dim), b.ActivationDType);
            b.Add(pair.Activation(b, a, new Shape(rows, dim)), pair.Activation(b, c, new Shape(rows, dim)), output);
            return pair.Download(b, output);
        }
        report.Compare($"add [{rows}, {dim}]", Run(Ref), Run(Gpu), OneRounding, 1e-6);
    }

    private void GatherRows(int n, int dim, int[] rows)
    {
        float[] input = random.Uniform((long)n * dim);
        float[] Run(IBackend b)
        {
            var output = pair.Zeros(b, new Shape(rows.Length, dim), b.ActivationDType);
            b.GatherRows(pair.Activation(b, input, new Shape(n, dim)), pair.Ints(b, rows, new Shape(rows.Length)), output);
            return pair.Download(b, output);
        }
        report.Compare($"gather_rows [{n}, {dim}] -> {rows.Length} rows", Run(Ref), Run(Gpu), 0, 0);
    }
}
