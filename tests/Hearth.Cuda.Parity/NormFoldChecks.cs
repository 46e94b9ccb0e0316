using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The residual add + RMSNorm split over the fp8 wide GEMVs around it (IAddRmsNormFusion, session 9) against the launches
/// it replaces, Linear, AddRmsNorm and the consumer's Linear or LinearSiluMul: the producer's output and the updated
/// residual bit for bit, the consumer's output within bf16 roundings (only the sum of squares is added in another
/// order), for q|k|v and gate|up consumers at hidden 2560, 4096 and 5120 (Qwen3-14B's q|k|v and a 512-tile gate|up among
/// them), producers with k = hidden, 4096 and 17408, a consumer of 203 rows. Checks that the folded kernels ran and that
/// FoldsAddRmsNorm declines what they cannot take (2 rows, a dense weight, a two-part producer).
/// </summary>
internal sealed class NormFoldChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        foreach (int hidden in new[] { 2560, 4096, 5120 })
        {
            Check($"o {hidden}x{hidden} -> q|k|v 256|128|128", hidden, hidden, siluMul: false, () => [_host.Fp8(256, hidden), _host.Fp8(128, hidden), _host.Fp8(128, hidden)]);
            Check($"o {hidden}x{hidden} -> gate|up 384", hidden, hidden, siluMul: true, () => [_host.Fp8(384, hidden), _host.Fp8(384, hidden)]);
        }
        Check("down 5120x17408 -> q|k|v 5120|1024|1024 (Qwen3-14B)", 5120, 17408, siluMul: false, () => [_host.Fp8(5120, 5120), _host.Fp8(1024, 5120), _host.Fp8(1024, 5120)]);
        Check("o 5120x5120 -> gate|up 8192 (512 tiles)", 5120, 5120, siluMul: true, () => [_host.Fp8(8192, 5120), _host.Fp8(8192, 5120)]);
        Check("o 2560x4096 -> q|k|v 203 (a partial row block)", 2560, 4096, siluMul: false, () => [_host.Fp8(203, 2560)]);
        try
        {
            var fp8 = new LinearWeight([cuda.UploadQuantized(_host.Fp8(128, 5120))]);
            report.Record(!cuda.FoldsAddRmsNorm(fp8, 2, NormFoldRole.Consumer), "norm fold declines 2 rows", "");
            var dense = LinearWeight.Dense(_run.Buffer(cuda, DType.BF16, new Shape(128, 5120)));
            report.Record(!cuda.FoldsAddRmsNorm(dense, 1, NormFoldRole.Consumer), "norm fold declines a dense weight", "");
            var twoParts = new LinearWeight([cuda.UploadQuantized(_host.Fp8(128, 5120)), cuda.UploadQuantized(_host.Fp8(128, 5120))]);
            report.Record(!cuda.FoldsAddRmsNorm(twoParts, 1, NormFoldRole.Producer), "norm fold declines a two-part producer", "");
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("norm fold declines", e);
        }
    }

    private void Check(string name, int hidden, int producerK, bool siluMul, Func<QuantizedMatrix[]> makeConsumer)
    {
        string label = $"norm fold {name}";
        try
        {
            var producer = new LinearWeight([cuda.UploadQuantized(_host.Fp8(hidden, producerK))]);
            var consumer = new LinearWeight(makeConsumer().Select(cuda.UploadQuantized).ToArray());
            var role = siluMul ? NormFoldRole.ConsumerSiluMul : NormFoldRole.Consumer;
            bool folds = cuda.FoldsAddRmsNorm(producer, 1, NormFoldRole.Producer) && cuda.FoldsAddRmsNorm(consumer, 1, role);
            if (!report.Record(folds, label + " folds", $"FoldsAddRmsNorm: {folds}")) return;
            int n = siluMul ? consumer.OutFeatures / 2 : consumer.OutFeatures;
            var input = Upload(random.Uniform(producerK));
            var norm = Upload(random.Uniform(hidden).Select(v => 0.5f + v).ToArray());
            var residual = Upload(random.Uniform(hidden).Select(v => 4 * v).ToArray());
            var scratch = _run.Buffer(cuda, DType.BF16, new Shape(1, 2 * n));

            // The reference runs unsplit, as the producer does (split k would add the sums in another order).
            bool savedSplit = cuda.UseQuantSplitK;
            cuda.UseQuantSplitK = false;
            var residualA = Copy(residual, hidden);
            var projectedA = _run.Buffer(cuda, DType.BF16, new Shape(1, hidden));
            var normed = _run.Buffer(cuda, DType.BF16, new Shape(1, hidden));
            var expected = _run.Buffer(cuda, DType.BF16, new Shape(1, n));
            cuda.Linear(input, producer, projectedA);
            cuda.AddRmsNorm(residualA, projectedA, norm, 1e-6f, normed);
            if (siluMul) cuda.LinearSiluMul(normed, consumer, scratch, expected);
            else cuda.Linear(normed, consumer, expected);
            cuda.UseQuantSplitK = savedSplit;

            var residualB = Copy(residual, hidden);
            var projectedB = _run.Buffer(cuda, DType.BF16, new Shape(1, hidden));
            var sums = _run.Buffer(cuda, DType.F32, new Shape(cuda.NormFoldSumsLength(hidden)));
            var actual = _run.Buffer(cuda, DType.BF16, new Shape(1, n));
            long before = cuda.NumNormFoldLaunches;
            cuda.LinearAddResidual(input, producer, projectedB, residualB, sums);
            if (siluMul) cuda.NormedLinearSiluMul(residualB, sums, norm, 1e-6f, consumer, scratch, actual);
            else cuda.NormedLinear(residualB, sums, norm, 1e-6f, consumer, actual);
            report.Record(cuda.NumNormFoldLaunches == before + 2, label + " ran the folded kernels", $"{cuda.NumNormFoldLaunches - before} launches");
            Same(label + " producer output", projectedA, projectedB);
            Same(label + " residual", residualA, residualB);
            report.Compare(label + " consumer output vs unfused", Floats(expected), Floats(actual), 1e-2, 1e-2);
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail(label, e);
        }
    }

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

    private float[] Floats(Tensor t)
    {
        var bits = new ushort[t.NumElements];
        cuda.CopyToHost<ushort>(t, bits);
        return bits.Select(BFloat16Bits.ToSingle).ToArray();
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
