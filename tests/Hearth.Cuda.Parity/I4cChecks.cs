using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11 (branch i4c, CudaBackend.QuantI4V3): the int4 decode launches in each of session 11's modes (x's group sums
/// at half the MMAs, the default; q − z operands and no group sums; session 10's arithmetic with unpredicated x loads,
/// which must give session 10's bits), at rows 1, 3 and 8. AWQ g128 with random zero points, with every zero point 0, 15 and 16 (old GPTQ exports), symmetric
/// g128, a group of 256, odd n, k = 5120 and 17408, a fused q|k|v (the 14B one on the two-stage kernel), the 14B o. Each
/// must have run a session 11 kernel (the launch count), match the CPU backend within the quantized checks' tolerance,
/// stay within a small distance of session 10's kernel (HEARTH_CUDA_I4_V3=0: its offsets are f16(−z·s), so the last
/// bits differ), give the bf16 output as the f32 one rounded, and the same bits on three launches in a row and from a
/// captured CUDA graph replayed three times. Q4_K, GPTQ g64 and a k of six stages must not run it; with the switch off
/// no launch does. Gate|up pairs: the fused LinearSiluMul equals the unfused Linear then SiluMul bit for bit, both on
/// the session 11 kernel, and match the CPU backend.
/// </summary>
internal sealed unsafe class I4cChecks(CudaBackend cuda, ParityReport report, RandomData random, CudaQuantI4V3[]? modes = null) : IDisposable
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
            cuda.UseQuantSplitK = false;   // few-tile launches reach the i4 rule (I4Checks checks split k's precedence)
            cuda.UseQuantI4 = true;
            cuda.UseQuantI4V2 = true;
            Linear("awq g128 n=203 k=5120", true, () => [_host.Int4(203, 5120, 128, zeros: true)]);
            Linear("awq g128 n=40 k=17408", true, () => [_host.Int4(40, 17408, 128, zeros: true)]);
            Linear("awq g128 n=1000 k=5120", true, () => [_host.Int4(1000, 5120, 128, zeros: true)]);
            Linear("awq g128 zero points 0 n=72 k=5120", true, () => [Zeros(_host.Int4(72, 5120, 128, zeros: true), 0)]);
            Linear("awq g128 zero points 15 n=72 k=5120", true, () => [Zeros(_host.Int4(72, 5120, 128, zeros: true), 15)]);
            Linear("gptq g128 zero points 16 n=72 k=5120", true, () => [Zeros(_host.Int4(72, 5120, 128, zeros: true), 16)]);
            Linear("q|k|v fused 160|72|41 k=5120", true, () => [_host.Int4(160, 5120, 128, zeros: true), _host.Int4(72, 5120, 128, zeros: true),
                _host.Int4(41, 5120, 128, zeros: true)]);
            Linear("symmetric g128 n=77 k=1024", true, () => [_host.Int4(77, 1024, 128, zeros: false)]);
            Linear("awq g256 n=48 k=2048", true, () => [_host.Int4(48, 2048, 256, zeros: true)]);
            Linear("14B q|k|v 5120|1024|1024 k=5120", true, () => [_host.Int4(5120, 5120, 128, zeros: true), _host.Int4(1024, 5120, 128, zeros: true),
                _host.Int4(1024, 5120, 128, zeros: true)]);
            Linear("14B o 5120 k=5120", true, () => [_host.Int4(5120, 5120, 128, zeros: true)]);
            Linear("Q4_K n=72 k=5120 (not taken)", false, () => [_host.Gguf(WeightFormat.Q4_K, 72, 5120)], gguf: true);
            Linear("gptq g64 n=72 k=5120 (not taken)", false, () => [_host.Int4(72, 5120, 64, zeros: true)]);
            Linear("awq g128 n=40 k=1536 (not taken: 6 stages)", false, () => [_host.Int4(40, 1536, 128, zeros: true)]);
            GateUp(200, 5120);
            GateUp(200, 17408);
            GateUp((3 * cuda.MultiprocessorCount + 5) * 16, 1024);   // more pairs than one wave: blocks of two units
        }
        finally
        {
            cuda.UseQuantI4 = saved;
            cuda.UseQuantSplitK = savedSplit;
            cuda.UseQuantI4V2 = savedV2;
            cuda.QuantI4V3 = savedV3;
        }
    }

    // Every zero point of the matrix set to z (the host's F32 zeros, which the upload packs as f16(−z·s)).
    private static QuantizedMatrix Zeros(QuantizedMatrix m, float z)
    {
        var zeros = m.Zeros ?? throw new InvalidOperationException("no zero points");
        new Span<float>((float*)zeros.Data, (int)zeros.Shape.NumElements).Fill(z);
        return m;
    }

    private readonly CudaQuantI4V3[] Modes = modes ?? [CudaQuantI4V3.HalfSums, CudaQuantI4V3.ZeroOperands, CudaQuantI4V3.PointerX];

    private void Linear(string name, bool taken, Func<QuantizedMatrix[]> makeParts, bool gguf = false)
    {
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            double tolerance = gguf ? 2e-2 : 4e-3;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.QuantI4V3 = CudaQuantI4V3.Off;
                long before = cuda.NumQuantI4V3Launches;
                var session10 = _run.CudaLinear(cudaWeight, x, rows);
                report.Record(cuda.NumQuantI4V3Launches == before, $"i4c linear {name} rows={rows} V3 off: no session 11 launch", $"{cuda.NumQuantI4V3Launches - before}");
                report.Compare($"i4c linear {name} rows={rows} session 10 vs cpu (for comparison)", expected, session10, tolerance, tolerance);
                foreach (var mode in Modes)
                {
                    string label = $"i4c linear {name} rows={rows} {mode}";
                    cuda.QuantI4V3 = mode;
                    before = cuda.NumQuantI4V3Launches;
                    var first = _run.CudaLinear(cudaWeight, x, rows);
                    long launches = cuda.NumQuantI4V3Launches - before;
                    report.Record(taken ? launches > 0 : launches == 0, label + (taken ? " ran session 11's kernel" : " did not run session 11's kernel"),
                        $"{launches} launches");
                    report.Compare(label + " vs cpu", expected, first, tolerance, tolerance);
                    // Other summation orders (half sums) or z·s for f16(−z·s) (q − z): the last bits; PointerX: session 10's.
                    if (taken && mode != CudaQuantI4V3.PointerX) report.Compare(label + " vs session 10's kernel", session10, first, 1e-3, 1e-3);
                    else report.Record(CountDiffering(session10, first) == 0, label + " = session 10 bit for bit", $"{CountDiffering(session10, first)} differ");
                    var bf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                    int rounded = 0;
                    for (int i = 0; i < bf16.Length; i++) if (BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(first[i])) != bf16[i]) rounded++;
                    if (taken) report.Record(rounded == 0, label + " bf16 out = f32 out rounded", $"{rounded} values differ");
                    int differ = 0;
                    for (int repeat = 0; repeat < 2; repeat++) differ += CountDiffering(first, _run.CudaLinear(cudaWeight, x, rows));
                    report.Record(differ == 0, label + " three launches in a row, same bits", $"{differ} values differ");
                    report.Record(CountDiffering(first, Replayed(cudaWeight, x, rows)) == 0, label + " graph replayed 3 times, same bits", "");
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"i4c linear {name}", e);
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

    // A gate|up pair on session 11's kernel: fused (LinearSiluMul) = unfused (Linear, then silu_mul) bit for bit, close to
    // session 10's fused kernel, and against the CPU backend.
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
                var x = random.Uniform((long)rows * k);
                var cpu = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                cuda.QuantI4V3 = CudaQuantI4V3.Off;
                var session10 = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter).Select(BFloat16Bits.ToSingle).ToArray();
                foreach (var mode in Modes)
                {
                    string label = $"i4c gate|up {inter} k={k} rows={rows} {mode}";
                    cuda.QuantI4V3 = mode;
                    cuda.FuseSiluMul = true;
                    long before = cuda.NumQuantI4V3Launches;
                    var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                    report.Record(cuda.NumQuantI4V3Launches > before, label + " fused ran session 11's kernel", $"{cuda.NumQuantI4V3Launches - before}");
                    cuda.FuseSiluMul = false;
                    before = cuda.NumQuantI4V3Launches;
                    var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                    report.Record(cuda.NumQuantI4V3Launches > before, label + " unfused Linear ran session 11's kernel", $"{cuda.NumQuantI4V3Launches - before}");
                    int differ = 0;
                    for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                    report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                    var fusedF32 = fused.Select(BFloat16Bits.ToSingle).ToArray();
                    if (mode == CudaQuantI4V3.PointerX) report.Record(CountDiffering(session10, fusedF32) == 0, label + " = session 10's fused kernel bit for bit", "");
                    else report.Compare(label + " vs session 10's fused kernel", session10, fusedF32, 1e-2, 1e-2);
                    report.Compare(label + " fused vs cpu", cpu, fusedF32, 2e-2, 2e-2);
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"i4c gate|up {inter} k={k}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
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
