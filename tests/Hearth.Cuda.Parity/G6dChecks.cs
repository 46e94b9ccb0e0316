using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Session 11's compact GGUF decode kernels (CudaQuantG6Decode: gemv_g6_stream_fast, gemv_g6m_*, gemv_k4m_*, the mixed
/// q|k|v with q6_compute_t&lt;true&gt;) against session 10's (HEARTH_CUDA_G6_NEW=0) bit for bit and against the CPU
/// backend's Q6_K / Q4_K: every G6 kernel (the rule's pick and each one forced) at 1, 3 and 8 rows and k = 512, 5120 and
/// 17408 (rows not whole tiles, f32 and bf16 out, three launches and a graph replayed three times giving the same bits);
/// three G6 parts in one launch (a tile range crossing parts); Q4_K|Q4_K|Q6_K q|k|v in one launch; K4 and G6 gate|up +
/// SiLU·mul fused (= unfused, = session 10's fused, bit for bit).
/// </summary>
internal sealed class G6dChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8];
    private const double Tolerance = 2e-2;   // the CPU's GGUF kernels quantize x to int8 blocks; the GPU keeps bf16 x
    private static readonly string?[] G6Kernels = [null, "s4", "w4d3", "w4d2", "m3", "m2"];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool saved = cuda.UseCompactQ4K, savedQ6 = cuda.UseCompactQ6K, savedNew = cuda.UseG6New, savedK4 = cuda.UseK4New;
        cuda.UseCompactQ4K = true;
        cuda.UseCompactQ6K = true;
        cuda.UseK4New = true;
        try
        {
            Linear("Q6_K 40x512", [Q6K(40, 512)], G6Kernels);
            Linear("Q6_K 72x5120", [Q6K(72, 5120)], G6Kernels);
            Linear("Q6_K 200x17408 (down's k)", [Q6K(200, 17408)], G6Kernels);
            Linear("Q6_K 1024x5120 (attn_v)", [Q6K(1024, 5120)], [null, "m3"]);
            Linear("Q6_K q|k|v 40|24|72 k=1024", [Q6K(40, 1024), Q6K(24, 1024), Q6K(72, 1024)], G6Kernels);
            // 439 tiles: more than one wave at 3 blocks an SM, so M3/M2 give blocks two or three tiles, one range crossing parts
            Linear("Q6_K q|k|v 4008|2000|1000 k=1024", [Q6K(4008, 1024), Q6K(2000, 1024), Q6K(1000, 1024)], [null, "m3", "m2"]);
            Linear("Q4_K|Q4_K|Q6_K k=5120", [Q4K(80, 5120), Q4K(16, 5120), Q6K(24, 5120)], [null]);
            Linear("Q4_K|Q4_K|Q6_K k=512", [Q4K(200, 512), Q4K(40, 512), Q6K(40, 512)], [null]);
            Silu("Q4_K gate|up 200x512", Q4K(200, 512), Q4K(200, 512), newKernel: false);   // 2 stages: session 10's rule
            Silu("Q4_K gate|up 40x5120", Q4K(40, 5120), Q4K(40, 5120), newKernel: true);
            Silu("Q4_K gate|up 6408x1024", Q4K(6408, 1024), Q4K(6408, 1024), newKernel: true);   // 401 tiles: two a block
            Silu("Q4_K gate|up 24x17408", Q4K(24, 17408), Q4K(24, 17408), newKernel: true);
            Silu("Q6_K gate|up 40x5120", Q6K(40, 5120), Q6K(40, 5120), newKernel: true);
        }
        finally
        {
            cuda.UseCompactQ4K = saved;
            cuda.UseCompactQ6K = savedQ6;
            cuda.UseG6New = savedNew;
            cuda.UseK4New = savedK4;
            cuda.G6NewKernel = null;
            cuda.K4SiluStreamKernel = null;
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

    private void Linear(string name, QuantizedMatrix[] host, string?[] kernels)
    {
        int? savedWarps = cuda.G6Warps;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            bool mixed = host.Any(h => h.Format == WeightFormat.Q4_K);
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                // session 10 with 4 warps a tile (its rule takes 8 for few tiles at k >= 8192 and 1-4 rows: another order)
                cuda.UseG6New = false;
                cuda.G6Warps = 4;
                var main = _run.CudaLinear(cudaWeight, x, rows);
                var mainBf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                cuda.G6Warps = savedWarps;
                cuda.UseG6New = true;
                foreach (string? kernel in kernels)
                {
                    cuda.G6NewKernel = kernel;
                    string label = $"g6d linear {name} rows={rows} {(mixed ? "gemv_k4g6_stream_fast_g6f" : kernel ?? "rule")}";
                    long before = cuda.NumG6NewLaunches;
                    var first = _run.CudaLinear(cudaWeight, x, rows);
                    report.Record(cuda.NumG6NewLaunches == before + 1, label + " ran the new kernel", $"{cuda.NumG6NewLaunches - before} launches");
                    report.Record(CountDifferingBits(main, first) == 0, label + " = session 10 bit for bit (f32)", $"{CountDifferingBits(main, first)} of {main.Length} differ");
                    var bf16 = _run.CudaLinear(cudaWeight, x, rows, DType.BF16);
                    report.Record(CountDifferingBits(mainBf16, bf16) == 0, label + " = session 10 bit for bit (bf16 out)", $"{CountDifferingBits(mainBf16, bf16)} differ");
                    report.Compare(label + " vs cpu", expected, first, Tolerance, Tolerance);
                    int differ = CountDifferingBits(first, _run.CudaLinear(cudaWeight, x, rows)) + CountDifferingBits(first, _run.CudaLinear(cudaWeight, x, rows));
                    report.Record(differ == 0, label + " three launches, same bits", $"{differ} differ");
                    report.Record(CountDifferingBits(first, Replayed(cudaWeight, x, rows)) == 0, label + " graph replayed 3 times, same bits", "");
                }
                cuda.G6NewKernel = null;
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6d linear {name}", e);
        }
        finally
        {
            cuda.G6Warps = savedWarps;
            cuda.G6NewKernel = null;
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

    // Fused gate|up + SiLU (the rule's kernel, and M2 forced) against the unfused path (Linear on the pair, then SiluMul),
    // session 10's fused kernel and a graph replay, bit for bit, and the CPU backend.
    private void Silu(string name, QuantizedMatrix gate, QuantizedMatrix up, bool newKernel)
    {
        bool savedFuse = cuda.FuseSiluMul;
        try
        {
            QuantizedMatrix[] host = [gate, up];
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = gate.InFeatures, inter = gate.OutFeatures;
            bool k4 = gate.Format == WeightFormat.Q4_K;
            foreach (string? forced in k4 ? new string?[] { null, "m2" } : [null])
            foreach (int rows in Batches)
            {
                cuda.K4SiluStreamKernel = forced;
                string label = $"g6d linear+silu_mul {name} rows={rows} {forced ?? "rule"}";
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                cuda.UseG6New = false;
                var session10 = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.UseG6New = true;
                long before = cuda.NumG6NewLaunches, siluBefore = cuda.NumQuantSiluLaunches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                bool ranNew = cuda.NumG6NewLaunches == before + 1 && cuda.NumQuantSiluLaunches == siluBefore + 1;
                report.Record(ranNew == newKernel, label + " path", ranNew ? "a session 11 fused kernel" : "session 10's fused kernel");
                var again = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(CountDiffering(fused, again) == 0, label + " twice, same bits", $"{CountDiffering(fused, again)} differ");
                cuda.FuseSiluMul = false;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                report.Record(CountDiffering(fused, unfused) == 0, label + " fused = unfused bit for bit", $"{CountDiffering(fused, unfused)} of {fused.Length} differ");
                report.Record(CountDiffering(fused, session10) == 0, label + " = session 10's fused bit for bit", $"{CountDiffering(fused, session10)} differ");
                report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), 3e-2, 3e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6d linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
            cuda.UseG6New = true;
            cuda.K4SiluStreamKernel = null;
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
