using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Split k in the quantized decode GEMVs (CudaBackend.UseQuantSplitK, CudaQuantSplitK; session 8) at rows 1, 3 and 8:
/// int4 (register stream), fp8 (wide kernel), Q4_K (register stream, and the ring at k = 17408), Q6_K (g8 ring) and
/// the Q4_K|Q4_K|Q6_K mix, odd row counts, k = 5120 and 17408, each forced to 2, 3 and 4 splits. Each split result must
/// match the unsplit kernel within f32 reassociation and the CPU backend as the other quantized checks do, have run
/// split (the launch count), give the same bits on three launches in a row (the per-tile counters are reset, and the
/// combine does not depend on which block finished last), and the same bits again from a captured CUDA graph
/// replayed three times. A fused gate|up pair must stay unsplit, so the fused SiLU kernel equals it bit for bit.
/// </summary>
internal sealed class SplitKChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8];
    private static readonly int[] ForcedSplits = [2, 3, 4];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool savedWideG4 = cuda.UseQuantWideGemvG4, savedCompactQ6K = cuda.UseCompactQ6K;
        try
        {
            Linear("int4 awq g128 n=203 k=5120", () => [_host.Int4(203, 5120, 128, zeros: true)]);
            Linear("int4 awq g128 n=40 k=17408", () => [_host.Int4(40, 17408, 128, zeros: true)]);
            Linear("int4 q|k|v fused 160|72|41 k=5120", () => [_host.Int4(160, 5120, 128, zeros: true), _host.Int4(72, 5120, 128, zeros: true),
                _host.Int4(41, 5120, 128, zeros: true)]);
            Linear("fp8 n=203 k=5120 (wide)", () => [_host.Fp8(203, 5120)]);
            Linear("fp8 n=24 k=17408 (wide)", () => [_host.Fp8(24, 17408)]);
            Linear("Q4_K n=72 k=5120", () => [_host.Gguf(WeightFormat.Q4_K, 72, 5120)], gguf: true);
            Linear("Q4_K n=24 k=17408 (g4 ring)", () => [_host.Gguf(WeightFormat.Q4_K, 24, 17408)], gguf: true);
            // Q6_K as g8 (the layout before the compact g6, which has no split kernels): the g8 ring and g4g8 mixed paths.
            cuda.UseCompactQ6K = false;
            Linear("Q6_K n=40 k=5120 (g8 ring)", () => [_host.Gguf(WeightFormat.Q6_K, 40, 5120)], gguf: true);
            Linear("Q4_K|Q4_K|Q6_K 80|16|24 k=5120 (mixed)", () => [_host.Gguf(WeightFormat.Q4_K, 80, 5120), _host.Gguf(WeightFormat.Q4_K, 16, 5120),
                _host.Gguf(WeightFormat.Q6_K, 24, 5120)], gguf: true);
            cuda.UseCompactQ6K = savedCompactQ6K;
            cuda.UseQuantWideGemvG4 = true;
            Linear("int4 awq g128 n=77 k=5120 (wide)", () => [_host.Int4(77, 5120, 128, zeros: true)]);
            cuda.UseQuantWideGemvG4 = savedWideG4;
            GateUpStaysUnsplit();
        }
        finally
        {
            cuda.UseQuantWideGemvG4 = savedWideG4;
            cuda.UseCompactQ6K = savedCompactQ6K;
        }
    }

    private void Linear(string name, Func<QuantizedMatrix[]> makeParts, bool gguf = false)
    {
        bool savedSplit = cuda.UseQuantSplitK;
        int? savedForced = cuda.QuantSplitKForced;
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            // The CPU's GGUF kernels quantize x to int8 blocks (as llama.cpp does); the GPU keeps bf16 x (QuantChecks).
            double tolerance = gguf ? 2e-2 : 4e-3;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.UseQuantSplitK = false;
                var unsplit = _run.CudaLinear(cudaWeight, x, rows);
                cuda.UseQuantSplitK = true;
                foreach (int splits in ForcedSplits)
                {
                    cuda.QuantSplitKForced = splits;
                    string label = $"split-k linear {name} rows={rows} splits={splits}";
                    long before = cuda.NumQuantSplitLaunches;
                    var first = _run.CudaLinear(cudaWeight, x, rows);
                    report.Record(cuda.NumQuantSplitLaunches > before, label + " ran split", $"{cuda.NumQuantSplitLaunches - before} split launches");
                    report.Compare(label + " vs unsplit kernel", unsplit, first, 1e-5, 1e-5);
                    report.Compare(label + " vs cpu", expected, first, tolerance, tolerance);
                    int differ = 0;
                    for (int repeat = 0; repeat < 2; repeat++) differ += CountDiffering(first, _run.CudaLinear(cudaWeight, x, rows));
                    report.Record(differ == 0, label + " three launches in a row, same bits", $"{differ} values differ");
                    report.Record(CountDiffering(first, Replayed(cudaWeight, x, rows)) == 0, label + " graph replayed 3 times, same bits", "");
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"split-k linear {name}", e);
        }
        finally
        {
            cuda.UseQuantSplitK = savedSplit;
            cuda.QuantSplitKForced = savedForced;
        }
    }

    // The linear captured once into a CUDA graph and replayed three times (F32 out; the output zeroed in between).
    private float[] Replayed(LinearWeight weight, float[] x, int rows)
    {
        var input = _run.Buffer(cuda, DType.BF16, new Shape(rows, weight.InFeatures));
        cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
        var output = _run.Buffer(cuda, DType.F32, new Shape(rows, weight.OutFeatures));
        var zeros = new float[output.NumElements];
        cuda.Linear(input, weight, output);   // eager first: kernels and plans ready before the capture
        cuda.Synchronize();
        cuda.BeginCapture();
        cuda.Linear(input, weight, output);
        using var graph = cuda.EndCapture();
        for (int i = 0; i < 3; i++)
        {
            cuda.CopyToDevice<float>(zeros, output);
            cuda.Replay(graph);
        }
        var result = new float[output.NumElements];
        cuda.CopyToHost<float>(output, result);
        return result;
    }

    // With splitting forced, a gate|up pair through Linear stays unsplit and the fused LinearSiluMul equals Linear then
    // SiluMul bit for bit (QuantSiluChecks' property, kept under split k).
    private void GateUpStaysUnsplit()
    {
        bool savedSplit = cuda.UseQuantSplitK;
        int? savedForced = cuda.QuantSplitKForced;
        try
        {
            const int Inter = 96, K = 5120;
            QuantizedMatrix[] host = [_host.Int4(Inter, K, 128, zeros: true), _host.Int4(Inter, K, 128, zeros: true)];
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            cuda.UseQuantSplitK = true;
            cuda.QuantSplitKForced = 4;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * K);
                long before = cuda.NumQuantSplitLaunches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, Inter);
                var gateUp = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                report.Record(cuda.NumQuantSplitLaunches == before, $"split-k gate|up rows={rows} unsplit", $"{cuda.NumQuantSplitLaunches - before} split launches");
                int differ = 0;
                for (int r = 0; r < rows; r++)
                    for (int i = 0; i < Inter; i++)
                    {
                        float g = gateUp[r * 2 * Inter + i], u = gateUp[r * 2 * Inter + Inter + i];
                        ushort expected = BFloat16Bits.FromSingle(g / (1.0f + MathF.Exp(-g)) * u);
                        if (Math.Abs(expected - fused[r * Inter + i]) > 1) differ++;
                    }
                report.Record(differ == 0, $"split-k gate|up rows={rows} fused = unfused within one bf16 ulp", $"{differ} values differ");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("split-k gate|up", e);
        }
        finally
        {
            cuda.UseQuantSplitK = savedSplit;
            cuda.QuantSplitKForced = savedForced;
        }
    }

    private static int CountDiffering(float[] a, float[] b)
    {
        int differ = 0;
        for (int i = 0; i < a.Length; i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) differ++;
        return differ;
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
