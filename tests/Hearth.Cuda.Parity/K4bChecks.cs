using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 10's compact Q4_K decode kernels (gemv_kquant4.cu, gemv_k4g6_stream_fast; CudaQuantK4Decode) against main's
/// K4 kernels (HEARTH_CUDA_K4_NEW=0) bit for bit and against the CPU backend's Q4_K: every new kernel (the rule's pick and
/// each one forced) at 1, 3 and 8 rows and k = 512, 5120 and 17408 (rows not whole tiles, f32 and bf16 out, three launches
/// and a captured graph replayed three times giving the same bits); three K4 parts in one launch; Q4_K_M's q|k|v
/// (Q4_K|Q4_K|Q6_K) in one launch; gate|up + SiLU·mul fused (= unfused, = main's fused, bit for bit).
/// </summary>
internal sealed class K4bChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8];
    private const double Tolerance = 2e-2;   // the CPU's GGUF kernels quantize x to int8 blocks; the GPU keeps bf16 x
    private static readonly string?[] Kernels = [null, "w4d2", "w4d3", "w8d2", "s4", "s8"];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool saved = cuda.UseCompactQ4K, savedQ6 = cuda.UseCompactQ6K, savedNew = cuda.UseK4New, savedG6New = cuda.UseG6New;
        string? savedKernel = cuda.K4NewKernel;
        cuda.UseCompactQ4K = true;
        cuda.UseG6New = false;   // session 10's kernels as they were (session 11's: G6dChecks)
        cuda.UseCompactQ6K = true;
        try
        {
            Linear("Q4_K 40x512", [Q4K(40, 512)]);
            Linear("Q4_K 72x5120", [Q4K(72, 5120)]);
            Linear("Q4_K 200x17408 (down's k)", [Q4K(200, 17408)]);
            Linear("Q4_K 5120x5120 (o)", [Q4K(5120, 5120)]);
            Linear("Q4_K q|k|v 40|24|72 k=1024", [Q4K(40, 1024), Q4K(24, 1024), Q4K(72, 1024)]);
            Linear("Q4_K|Q4_K|Q6_K k=5120", [Q4K(80, 5120), Q4K(16, 5120), Q6K(24, 5120)]);
            Linear("Q4_K|Q4_K|Q6_K k=512", [Q4K(200, 512), Q4K(40, 512), Q6K(40, 512)]);
            Silu("Q4_K gate|up 200x512", Q4K(200, 512), Q4K(200, 512));
            Silu("Q4_K gate|up 40x5120", Q4K(40, 5120), Q4K(40, 5120));
            Silu("Q4_K gate|up 24x17408", Q4K(24, 17408), Q4K(24, 17408));
        }
        finally
        {
            cuda.UseCompactQ4K = saved;
            cuda.UseCompactQ6K = savedQ6;
            cuda.UseK4New = savedNew;
            cuda.K4NewKernel = savedKernel;
            cuda.UseG6New = savedG6New;
        }
    }

    private QuantizedMatrix Q4K(int rows, int k) => _host.Gguf(WeightFormat.Q4_K, rows, k);

    private QuantizedMatrix Q6K(int rows, int k) => _host.Gguf(WeightFormat.Q6_K, rows, k);

    private static int CountDiffering<T>(T[] a, T[] b) where T : IEquatable<T>
    {
        int differ = 0;
        for (int i = 0; i < a.Length; i++) if (!a[i].Equals(b[i])) differ++;
        return differ;
    }

    private static int CountDifferingBits(float[] a, float[] b)
    {
        int differ = 0;
        for (int i = 0; i < a.Length; i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) differ++;
        return differ;
    }

    private void Linear(string name, QuantizedMatrix[] host)
    {
        int? savedWarps = cuda.K4Warps;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            bool mixed = host.Any(h => h.Format == WeightFormat.Q6_K);
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                foreach (string? kernel in mixed ? [null] : Kernels)
                {
                    // main with the same warps a tile: 8 for a forced W8D2 or S8, else 4 (the rule picks 4-warp kernels only;
                    // main's own rule takes 8 for few tiles at k >= 8192 and 1-4 rows, which sums in another order)
                    cuda.UseK4New = false;
                    cuda.K4Warps = kernel is "w8d2" or "s8" ? 8 : 4;
                    var main = _run.CudaLinear(cudaWeight, x, rows);
                    var mainBf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                    cuda.K4Warps = savedWarps;
                    cuda.UseK4New = true;
                    cuda.K4NewKernel = kernel;
                    string label = $"k4b linear {name} rows={rows} {(mixed ? "gemv_k4g6_stream_fast" : kernel ?? "rule")}";
                    long before = cuda.NumK4NewLaunches;
                    var first = _run.CudaLinear(cudaWeight, x, rows);
                    report.Record(cuda.NumK4NewLaunches == before + 1, label + " ran the new kernel", $"{cuda.NumK4NewLaunches - before} launches");
                    report.Record(CountDifferingBits(main, first) == 0, label + " = main bit for bit (f32)", $"{CountDifferingBits(main, first)} of {main.Length} differ");
                    var bf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                    report.Record(CountDifferingBits(mainBf16, bf16) == 0, label + " = main bit for bit (bf16 out)", $"{CountDifferingBits(mainBf16, bf16)} differ");
                    report.Compare(label + " vs cpu", expected, first, Tolerance, Tolerance);
                    int differ = CountDifferingBits(first, _run.CudaLinear(cudaWeight, x, rows)) + CountDifferingBits(first, _run.CudaLinear(cudaWeight, x, rows));
                    report.Record(differ == 0, label + " three launches, same bits", $"{differ} differ");
                    report.Record(CountDifferingBits(first, Replayed(cudaWeight, x, rows)) == 0, label + " graph replayed 3 times, same bits", "");
                }
                cuda.K4NewKernel = null;
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4b linear {name}", e);
        }
        finally
        {
            cuda.K4Warps = savedWarps;
        }
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

    // Fused gate|up + SiLU (the rule's gemv_silu_k4_stream_fast, and gemv_k4n_w4d2 with silu where every warp gets the same
    // stages) against the unfused path on the new kernels and main's fused kernel, bit for bit, and the CPU backend.
    private void Silu(string name, QuantizedMatrix gate, QuantizedMatrix up)
    {
        bool savedFuse = cuda.FuseSiluMul;
        try
        {
            QuantizedMatrix[] host = [gate, up];
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = gate.InFeatures, inter = gate.OutFeatures;
            foreach (string? siluKernel in new string?[] { null, "w4d2", "s4" })
            foreach (int rows in Batches)
            {
                cuda.K4NewSiluKernel = siluKernel;
                string label = $"k4b linear+silu_mul {name} rows={rows} {siluKernel ?? "rule"}";
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                cuda.UseK4New = false;
                var mainFused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.UseK4New = true;
                long before = cuda.NumK4NewLaunches, siluBefore = cuda.NumQuantSiluLaunches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                bool ranNew = cuda.NumK4NewLaunches == before + 1 && cuda.NumQuantSiluLaunches == siluBefore + 1;
                report.Record(ranNew, label + " path", ranNew ? "a new fused kernel" : "main's gemv_silu_k4_stream");
                cuda.FuseSiluMul = false;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(CountDiffering(fused, unfused) == 0, label + " fused = unfused (new kernels) bit for bit", $"{CountDiffering(fused, unfused)} of {fused.Length} differ");
                report.Record(CountDiffering(fused, mainFused) == 0, label + " = main's fused bit for bit", $"{CountDiffering(fused, mainFused)} differ");
                report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), 3e-2, 3e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4b linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
            cuda.UseK4New = true;
            cuda.K4NewSiluKernel = null;
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
