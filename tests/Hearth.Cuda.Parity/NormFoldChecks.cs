using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The residual add + RMSNorm folded into the fp8 wide GEMV (IAddRmsNormFusion, session 9) against the two launches it
/// replaces, AddRmsNorm (in place on a copy of the residual) then Linear or LinearSiluMul: the updated residual and the
/// output bit for bit (the fold reduces its sum of squares exactly as add_rms_norm_bf16x8 does), for fused q|k|v and
/// gate|up weights at k = 2560, 4096 and 5120 (640 chunks: one per norm thread; 5120 is Qwen3-14B's hidden size) and
/// twice in a row (the second launch reads the first's residualOut as its residualIn, as a model's layers do), and at
/// Qwen3-14B's q|k|v and a 512-tile gate|up (more tiles than the persistent grid's blocks). Checks
/// that the folded kernel ran and that FoldsAddRmsNorm declines what it cannot fold (2 rows, a dense weight).
/// </summary>
internal sealed class NormFoldChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        foreach (int k in new[] { 2560, 4096, 5120 })
        {
            Check($"fp8 q|k|v 256|128|128 k={k}", k, siluMul: false, () => [_host.Fp8(256, k), _host.Fp8(128, k), _host.Fp8(128, k)]);
            Check($"fp8 gate|up 384 k={k}", k, siluMul: true, () => [_host.Fp8(384, k), _host.Fp8(384, k)]);
        }
        Check("fp8 o-like n=203 k=5120 (partial row block)", 5120, siluMul: false, () => [_host.Fp8(203, 5120)]);
        // More tiles than resident blocks: each block of the persistent grid takes several tiles with one x.
        Check("fp8 q|k|v 5120|1024|1024 k=5120 (Qwen3-14B)", 5120, siluMul: false, () => [_host.Fp8(5120, 5120), _host.Fp8(1024, 5120), _host.Fp8(1024, 5120)]);
        Check("fp8 gate|up 8192 k=5120 (512 tiles)", 5120, siluMul: true, () => [_host.Fp8(8192, 5120), _host.Fp8(8192, 5120)]);
        try
        {
            var fp8 = new LinearWeight([cuda.UploadQuantized(_host.Fp8(128, 5120))]);
            report.Record(!cuda.FoldsAddRmsNorm(fp8, 2, siluMul: false), "norm fold declines 2 rows", "");
            var dense = LinearWeight.Dense(_run.Buffer(cuda, DType.BF16, new Shape(128, 5120)));
            report.Record(!cuda.FoldsAddRmsNorm(dense, 1, siluMul: false), "norm fold declines a dense weight", "");
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("norm fold declines", e);
        }
    }

    private void Check(string name, int k, bool siluMul, Func<QuantizedMatrix[]> makeParts)
    {
        string label = $"norm fold {name}";
        try
        {
            var weight = new LinearWeight(makeParts().Select(cuda.UploadQuantized).ToArray());
            bool folds = cuda.FoldsAddRmsNorm(weight, 1, siluMul);
            if (!report.Record(folds, label + " folds", $"FoldsAddRmsNorm: {folds}")) return;
            int n = siluMul ? weight.OutFeatures / 2 : weight.OutFeatures;
            var norm = Upload(random.Uniform(k).Select(v => 0.5f + v).ToArray());
            var residual = Upload(random.Uniform(k).Select(v => 4 * v).ToArray());
            var delta1 = Upload(random.Uniform(k));
            var delta2 = Upload(random.Uniform(k).Select(v => 2 * v).ToArray());
            var scratch = _run.Buffer(cuda, DType.BF16, new Shape(1, 2 * n));

            // Unfused: the residual updated in place, the norm into normed, then the linear; twice.
            var residualA = Copy(residual, k);
            var normed = _run.Buffer(cuda, DType.BF16, new Shape(1, k));
            var expected = new[] { Out(n), Out(n) };
            for (int step = 0; step < 2; step++)
            {
                cuda.AddRmsNorm(residualA, step == 0 ? delta1 : delta2, norm, 1e-6f, normed);
                if (siluMul) cuda.LinearSiluMul(normed, weight, scratch, expected[step]);
                else cuda.Linear(normed, weight, expected[step]);
            }

            // Folded: residual → residualB → residualC through two launches.
            var residualB = _run.Buffer(cuda, DType.BF16, new Shape(1, k));
            var residualC = _run.Buffer(cuda, DType.BF16, new Shape(1, k));
            var actual = new[] { Out(n), Out(n) };
            long before = cuda.NumNormFoldLaunches;
            for (int step = 0; step < 2; step++)
            {
                var (from, to, delta) = step == 0 ? (residual, residualB, delta1) : (residualB, residualC, delta2);
                if (siluMul) cuda.AddRmsNormLinearSiluMul(from, delta, norm, 1e-6f, to, weight, scratch, actual[step]);
                else cuda.AddRmsNormLinear(from, delta, norm, 1e-6f, to, weight, actual[step]);
            }
            report.Record(cuda.NumNormFoldLaunches == before + 2, label + " ran the folded kernel", $"{cuda.NumNormFoldLaunches - before} launches");
            Same(label + " residual", residualA, residualC);
            for (int step = 0; step < 2; step++) Same(label + $" output, launch {step + 1}", expected[step], actual[step]);
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail(label, e);
        }
    }

    private Tensor Out(int n) => _run.Buffer(cuda, DType.BF16, new Shape(1, n));

    private Tensor Upload(float[] values)
    {
        var t = _run.Buffer(cuda, DType.BF16, new Shape(1, values.Length));
        cuda.CopyToDevice<ushort>(values.Select(BFloat16Bits.FromSingle).ToArray(), t);
        return t;
    }

    private Tensor Copy(Tensor source, int k)
    {
        var t = _run.Buffer(cuda, DType.BF16, new Shape(1, k));
        cuda.CopyDeviceToDevice(source, t);
        return t;
    }

    private void Same(string name, Tensor expected, Tensor actual)
    {
        var e = new ushort[expected.NumElements];
        var a = new ushort[actual.NumElements];
        cuda.CopyToHost<ushort>(expected, e);
        cuda.CopyToHost<ushort>(actual, a);
        int differ = 0, first = -1;
        for (int i = 0; i < e.Length; i++)
            if (e[i] != a[i] && differ++ == 0) first = i;
        report.Record(differ == 0, name + " = unfused bit for bit",
            differ == 0 ? "" : $"{differ} of {e.Length} differ; first at {first}: {BFloat16Bits.ToSingle(e[first])} vs {BFloat16Bits.ToSingle(a[first])}");
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
