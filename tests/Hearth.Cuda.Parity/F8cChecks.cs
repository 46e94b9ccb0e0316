using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11 (branch f8c): the fp8 wide GEMV's f16 kernels (gemv_f8_wide_h, gemv_silu_f8_wide_h; CudaBackend.UseF8F16Kernels)
/// against the bf16 kernels they replace and the CPU backend, rows 1-5 and 8 (the f16 path takes 1-4 rows, more run the
/// bf16 path in the same kernel), fp8 with an odd n and a partial 128-row scale block, fused q|k|v, k = 5120 and 17408.
/// With x in the range where x · 2^-8 is an exact f16 (2^-9 ≤ |x| &lt; 2^24) every product is the bf16 kernel's times
/// 2^-8 exactly, so the outputs must match bit for bit; with uniform x (tiny values included) within 10⁻⁵. The fused
/// gate|up + SiLU·mul equals Linear then SiluMul bit for bit on the new kernels too, and a graph replay of the new
/// linear equals its eager launch. Checks that the new kernels ran (their launch count) where the device has them.
/// </summary>
internal sealed class F8cChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 2, 3, 4, 5, 8];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);
    private readonly Random _exponents = new(811);

    public void RunAll()
    {
        bool hasF16 = cuda.HasF8F16Kernels;
        Console.WriteLine($"f8c checks: f16 kernels {(hasF16 ? "on this device" : "not on this device (bf16 kernels both ways)")}");
        Linear("fp8 odd n=203 (partial row block)", [_host.Fp8(203, 768)], hasF16);
        Linear("fp8 q|k|v fused 160|72|41", [_host.Fp8(160, 1024), _host.Fp8(72, 1024), _host.Fp8(41, 1024)], hasF16);
        Linear("fp8 k=5120 n=77", [_host.Fp8(77, 5120)], hasF16);
        Linear("fp8 k=17408 n=24", [_host.Fp8(24, 17408)], hasF16);
        Silu("fp8 gate|up n=203", [_host.Fp8(203, 768), _host.Fp8(203, 768)], hasF16);
        Silu("fp8 gate|up k=5120 n=96", [_host.Fp8(96, 5120), _host.Fp8(96, 5120)], hasF16);
    }

    // bf16 values 2^e · (1 + j/128), e in [-9, 8): the range where the f16 kernels' products are exact.
    private float[] ExactRange(long count)
    {
        var x = new float[count];
        for (long i = 0; i < count; i++)
        {
            double v = Math.ScaleB(1 + _exponents.Next(128) / 128.0, _exponents.Next(-9, 8));
            x[i] = (float)(_exponents.Next(2) == 0 ? v : -v);
        }
        return x;
    }

    private void Linear(string name, QuantizedMatrix[] host, bool hasF16)
    {
        bool saved = cuda.UseF8F16Kernels, savedWide = cuda.UseQuantWideGemv;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            cuda.UseQuantWideGemv = true;
            int k = host[0].InFeatures;
            foreach (int rows in Batches)
            {
                string label = $"f8c linear {name} rows={rows}";
                foreach (bool exact in new[] { true, false })
                {
                    var x = exact ? ExactRange((long)rows * k) : random.Uniform((long)rows * k);
                    string kind = exact ? "exact-range x" : "uniform x";
                    cuda.UseF8F16Kernels = false;
                    var old = _run.CudaLinear(cudaWeight, x, rows);
                    cuda.UseF8F16Kernels = true;
                    long before = cuda.NumF8F16Launches;
                    var now = _run.CudaLinear(cudaWeight, x, rows);
                    report.Record(cuda.NumF8F16Launches > before == hasF16, $"{label} {kind} new kernel ran where the device has it",
                        $"{cuda.NumF8F16Launches - before} launches");
                    if (exact)
                    {
                        int differ = CountDiffering(old, now);
                        report.Record(differ == 0, $"{label} {kind} = bf16 kernel bit for bit", $"{differ} of {now.Length} values differ");
                        report.Compare($"{label} {kind} vs cpu", _run.CpuLinear(cpuWeight, x, rows), now, 4e-3, 4e-3);
                        int replayDiffer = CountDiffering(now, Replayed(cudaWeight, x, rows));
                        report.Record(replayDiffer == 0, $"{label} graph replay = eager", $"{replayDiffer} values differ");
                    }
                    else
                    {
                        report.Compare($"{label} {kind} vs bf16 kernel", old, now, 1e-5, 1e-5);
                        report.Compare($"{label} {kind} vs cpu", _run.CpuLinear(cpuWeight, x, rows), now, 4e-3, 4e-3);
                    }
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"f8c linear {name}", e);
        }
        finally
        {
            cuda.UseF8F16Kernels = saved;
            cuda.UseQuantWideGemv = savedWide;
        }
    }

    private void Silu(string name, QuantizedMatrix[] host, bool hasF16)
    {
        bool saved = cuda.UseF8F16Kernels, savedFuse = cuda.FuseSiluMul, savedWide = cuda.UseQuantWideGemv;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, inter = host[0].OutFeatures;
            cuda.UseQuantWideGemv = true;
            cuda.UseF8F16Kernels = true;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                string label = $"f8c linear+silu_mul {name} rows={rows}";
                cuda.FuseSiluMul = false;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                long before = cuda.NumF8F16Launches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(cuda.NumF8F16Launches > before == hasF16, label + " new kernel ran where the device has it", "");
                int differ = 0;
                for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                report.Compare(label + " vs cpu", _run.CpuLinearSiluMul(cpuWeight, x, rows, inter), fused.Select(BFloat16Bits.ToSingle).ToArray(), 2e-2, 2e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"f8c linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.UseF8F16Kernels = saved;
            cuda.FuseSiluMul = savedFuse;
            cuda.UseQuantWideGemv = savedWide;
        }
    }

    private static int CountDiffering(float[] a, float[] b)
    {
        int n = 0;
        for (int i = 0; i < a.Length; i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) n++;
        return n;
    }

    // The linear captured once into a CUDA graph and replayed three times (F32 out; the output zeroed in between).
    private float[] Replayed(LinearWeight weight, float[] x, int rows)
    {
        var input = _run.Buffer(cuda, DType.BF16, new Shape(rows, weight.InFeatures));
        cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
        var output = _run.Buffer(cuda, DType.F32, new Shape(rows, weight.OutFeatures));
        var zeros = new float[output.NumElements];
        cuda.Linear(input, weight, output);
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

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
