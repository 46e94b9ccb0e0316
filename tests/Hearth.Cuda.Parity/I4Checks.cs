using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The int4 decode GEMV with three register stage buffers (gemv_quant_i4.cu, CudaBackend.UseQuantI4; session 9) at rows
/// 1, 3 and 8: AWQ g128 with zero points and GPTQ-style symmetric g128, a group of 256 (one whole stage), odd row
/// counts, k = 5120 and 17408, a fused q|k|v. Each must have run the i4 kernel (the launch count), equal the old
/// stream kernel (HEARTH_CUDA_I4_NEW=0) bit for bit (the same per-tile arithmetic) in f32 and in bf16 outputs, match
/// the CPU backend as the other quantized checks do, and give the same bits on three launches in a row and from a
/// captured CUDA graph replayed three times. Shapes the rule leaves alone (GGUF Q4_K, GPTQ g64, a k of six stages,
/// a launch beyond one wave) must not run it and stay right; a gate|up pair through Linear runs it while the fused
/// LinearSiluMul (gemv_silu_g4_stream) equals Linear then SiLU·mul. Split k (which takes few-tile launches before the
/// i4 rule) is off for these checks, and one check confirms that precedence with it on.
/// Session 10 (UseQuantI4V2, the lop3 operands): a launch beyond one wave at 3 blocks an SM (and the 14B q|k|v, 448 tiles
/// on an H100) takes the 4-block two-stage kernel, one beyond 4 blocks an SM does not; with the switch off the q|k|v
/// stays on the stream kernel; and gate|up pairs, fused and unfused, run i4 on the balanced grid (k = 5120 and 17408,
/// and a pair of more units than one wave) and equal the old fused kernel and each other bit for bit.
/// </summary>
internal sealed class I4Checks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool saved = cuda.UseQuantI4, savedSplit = cuda.UseQuantSplitK, savedV2 = cuda.UseQuantI4V2;
        var savedV3 = cuda.QuantI4V3;
        try
        {
            cuda.UseQuantI4V2 = true;
            cuda.QuantI4V3 = CudaQuantI4V3.Off;   // session 10's kernels, bit for bit with the stream kernels (session 11's: I4cChecks)
            // Split k comes first for few-tile launches (CudaQuantSplitK), which all of these small shapes are: off, so that
            // they reach the i4 rule (the session 9 GPU run had it on, and these shapes ran split, not i4).
            SplitTakesPrecedence();
            cuda.UseQuantSplitK = false;
            cuda.UseQuantI4 = true;
            Linear("awq g128 n=203 k=5120", true, () => [_host.Int4(203, 5120, 128, zeros: true)]);
            Linear("awq g128 n=40 k=17408", true, () => [_host.Int4(40, 17408, 128, zeros: true)]);
            Linear("awq g128 n=1000 k=5120", true, () => [_host.Int4(1000, 5120, 128, zeros: true)]);
            Linear("q|k|v fused 160|72|41 k=5120", true, () => [_host.Int4(160, 5120, 128, zeros: true), _host.Int4(72, 5120, 128, zeros: true),
                _host.Int4(41, 5120, 128, zeros: true)]);
            Linear("symmetric g128 n=77 k=1024", true, () => [_host.Int4(77, 1024, 128, zeros: false)]);
            Linear("awq g256 n=48 k=2048", true, () => [_host.Int4(48, 2048, 256, zeros: true)]);
            Linear("Q4_K n=72 k=5120 (not taken)", false, () => [_host.Gguf(WeightFormat.Q4_K, 72, 5120)], gguf: true);
            Linear("gptq g64 n=72 k=5120 (not taken)", false, () => [_host.Int4(72, 5120, 64, zeros: true)]);
            Linear("awq g128 n=40 k=1536 (not taken: 6 stages)", false, () => [_host.Int4(40, 1536, 128, zeros: true)]);
            int sms = cuda.MultiprocessorCount, twoStageRows = (3 * sms + 1) * 16;
            Linear($"awq g128 n={twoStageRows} k=1024 (two-stage: one wave at 4 blocks an SM)", true,
                () => [_host.Int4(twoStageRows, 1024, 128, zeros: true)], twoStage: true);
            bool qkvTwoStage = 448 > 3 * sms && 448 <= 4 * sms;
            Linear("14B q|k|v 5120|1024|1024 k=5120", true, () => [_host.Int4(5120, 5120, 128, zeros: true), _host.Int4(1024, 5120, 128, zeros: true),
                _host.Int4(1024, 5120, 128, zeros: true)], twoStage: qkvTwoStage);
            int beyondWave = (int)(cuda.QuantI4MaxTiles + 1) * 16;
            Linear($"awq g128 n={beyondWave} k=1024 (not taken: two waves)", false, () => [_host.Int4(beyondWave, 1024, 128, zeros: true)]);
            Session9Paths();
            GateUp(200, 5120);
            GateUp(200, 17408);
            GateUp((3 * sms + 5) * 16, 1024);
        }
        finally
        {
            cuda.UseQuantI4 = saved;
            cuda.UseQuantSplitK = savedSplit;
            cuda.UseQuantI4V2 = savedV2;
            cuda.QuantI4V3 = savedV3;
        }
    }

    // With split k on (the default), a 13-tile launch of k = 5120 splits and does not run i4.
    private void SplitTakesPrecedence()
    {
        cuda.UseQuantSplitK = true;
        cuda.UseQuantI4 = true;
        var weight = new LinearWeight([cuda.UploadQuantized(_host.Int4(203, 5120, 128, zeros: true))]);
        long i4Before = cuda.NumQuantI4Launches, splitBefore = cuda.NumQuantSplitLaunches;
        _run.CudaLinear(weight, random.Uniform(5120), 1);
        report.Record(cuda.NumQuantI4Launches == i4Before && cuda.NumQuantSplitLaunches > splitBefore, "i4 few tiles with split k on: split, not i4",
            $"{cuda.NumQuantI4Launches - i4Before} i4 launches, {cuda.NumQuantSplitLaunches - splitBefore} split launches");
    }

    // HEARTH_CUDA_I4_V2=0: a 448-tile launch stays on the stream kernel, a 320-tile one takes session 9's kernel; both
    // give the same bits as session 10's kernels.
    private void Session9Paths()
    {
        try
        {
            foreach (var (name, rowsOut, kernelTaken) in new[] { ("448 tiles", 448 * 16, false), ("320 tiles", 320 * 16, true) })
            {
                var weight = new LinearWeight([cuda.UploadQuantized(_host.Int4(rowsOut, 5120, 128, zeros: true))]);
                var x = random.Uniform(5120);
                cuda.UseQuantI4V2 = true;
                var current = _run.CudaLinear(weight, x, 1);
                cuda.UseQuantI4V2 = false;
                long before = cuda.NumQuantI4Launches, twoStage = cuda.NumQuantI4TwoStageLaunches;
                var session9 = _run.CudaLinear(weight, x, 1);
                long launches = cuda.NumQuantI4Launches - before;
                report.Record((kernelTaken ? launches > 0 : launches == 0) && cuda.NumQuantI4TwoStageLaunches == twoStage,
                    $"i4 V2 off {name}: " + (kernelTaken ? "session 9's kernel" : "the stream kernel"), $"{launches} i4 launches");
                report.Record(CountDiffering(current, session9) == 0, $"i4 V2 off {name}: same bits as V2 on", $"{CountDiffering(current, session9)} values differ");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("i4 V2 off", e);
        }
        finally
        {
            cuda.UseQuantI4V2 = true;
        }
    }

    private void Linear(string name, bool taken, Func<QuantizedMatrix[]> makeParts, bool gguf = false, bool twoStage = false)
    {
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
                string label = $"i4 linear {name} rows={rows}";
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.UseQuantI4 = false;
                long before = cuda.NumQuantI4Launches;
                var old = _run.CudaLinear(cudaWeight, x, rows);
                var oldBf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                report.Record(cuda.NumQuantI4Launches == before, label + " off: old kernel", $"{cuda.NumQuantI4Launches - before} i4 launches");
                cuda.UseQuantI4 = true;
                before = cuda.NumQuantI4Launches;
                long twoStageBefore = cuda.NumQuantI4TwoStageLaunches;
                var first = _run.CudaLinear(cudaWeight, x, rows);
                long launches = cuda.NumQuantI4Launches - before, twoStageLaunches = cuda.NumQuantI4TwoStageLaunches - twoStageBefore;
                report.Record(taken ? launches > 0 : launches == 0, label + (taken ? " ran i4" : " stayed on the old kernel"), $"{launches} i4 launches");
                report.Record(twoStage ? twoStageLaunches == launches && launches > 0 : twoStageLaunches == 0,
                    label + (twoStage ? " ran the two-stage kernel" : " did not run the two-stage kernel"), $"{twoStageLaunches} of {launches}");
                report.Record(CountDiffering(old, first) == 0, label + " = old kernel bit for bit (f32)", $"{CountDiffering(old, first)} values differ");
                var bf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                report.Record(CountDiffering(oldBf16, bf16) == 0, label + " = old kernel bit for bit (bf16 out)", $"{CountDiffering(oldBf16, bf16)} values differ");
                report.Compare(label + " vs cpu", expected, first, tolerance, tolerance);
                int differ = 0;
                for (int repeat = 0; repeat < 2; repeat++) differ += CountDiffering(first, _run.CudaLinear(cudaWeight, x, rows));
                report.Record(differ == 0, label + " three launches in a row, same bits", $"{differ} values differ");
                report.Record(CountDiffering(first, Replayed(cudaWeight, x, rows)) == 0, label + " graph replayed 3 times, same bits", "");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"i4 linear {name}", e);
        }
    }

    // The linear captured once into a CUDA graph and replayed three times (F32 out; the output zeroed in between).
    private float[] Replayed(LinearWeight weight, float[] x, int rows)
    {
        var input = _run.Buffer(cuda, DType.BF16, new Shape(rows, weight.InFeatures));
        cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
        var output = _run.Buffer(cuda, DType.F32, new Shape(rows, weight.OutFeatures));
        var zeros = new float[output.NumElements];
        cuda.Linear(input, weight, output);   // eager first: kernels ready before the capture
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

    // A gate|up pair: the fused LinearSiluMul on i4 (session 10) against the old fused kernel (gemv_silu_g4_stream, i4
    // off) and the unfused one (FuseSiluMul off: Linear, on i4, then silu_mul) bit for bit, and against the CPU backend.
    private void GateUp(int inter, int k)
    {
        bool savedFuse = cuda.FuseSiluMul;
        try
        {
            QuantizedMatrix[] host = [_host.Int4(inter, k, 128, zeros: true), _host.Int4(inter, k, 128, zeros: true)];
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            foreach (int rows in Batches)
            {
                string label = $"i4 gate|up {inter} k={k} rows={rows}";
                var x = random.Uniform((long)rows * k);
                cuda.FuseSiluMul = true;
                cuda.UseQuantI4 = false;
                var old = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.UseQuantI4 = true;
                long before = cuda.NumQuantI4Launches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(cuda.NumQuantI4Launches > before, label + " fused ran i4", $"{cuda.NumQuantI4Launches - before} i4 launches");
                cuda.FuseSiluMul = false;
                before = cuda.NumQuantI4Launches;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(cuda.NumQuantI4Launches > before, label + " unfused Linear ran i4", $"{cuda.NumQuantI4Launches - before} i4 launches");
                int differ = 0, differOld = 0;
                for (int i = 0; i < fused.Length; i++)
                {
                    if (fused[i] != unfused[i]) differ++;
                    if (fused[i] != old[i]) differOld++;
                }
                report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                report.Record(differOld == 0, label + " = old fused kernel bit for bit", $"{differOld} of {fused.Length} values differ");
                var cpu = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                report.Compare(label + " fused vs cpu", cpu, fused.Select(BFloat16Bits.ToSingle).ToArray(), 2e-2, 2e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"i4 gate|up {inter} k={k}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
            cuda.UseQuantI4 = true;
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
