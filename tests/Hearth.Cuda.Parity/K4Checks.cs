using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Every kernel that reads the compact Q4_K layout (K4, CudaQuantK4.cs) against the CPU backend's Q4_K on the same
/// blocks: the decode GEMV (gemv_k4_stream: 1, 3, 8 rows, the 8-warp kernel at k = 17408 and 1-4 rows; 9 and 16 in two
/// launches), the tensor-core GEMM (17, 33, 64 rows), the dequantize + cuBLASLt path (2048 rows), at k = 512, 5120 and
/// 17408 with rows that are not whole tiles; three K4 parts in one launch; Q4_K_M's q|k|v (Q4_K, Q4_K, Q6_K) in one
/// gemv_k4g6_stream launch (= the per-family launches bit for bit); gate|up + SiLU·mul fused (= unfused bit for bit); the
/// token_embd lookup (= the CPU's Q4_K decode rounded to bf16, bit for bit); and the bytes the layout takes against G4.
/// </summary>
internal sealed class K4Checks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8, 9, 16, 17, 33, 64];
    private const double Tolerance = 2e-2;   // the CPU's GGUF kernels quantize x to int8 blocks; the GPU keeps bf16 x

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool saved = cuda.UseCompactQ4K, savedQ6 = cuda.UseCompactQ6K;
        cuda.UseCompactQ4K = true;
        cuda.UseCompactQ6K = true;
        try
        {
            Bytes(5120, 17408);
            Linear("Q4_K 40x512", [Q4K(40, 512)], [.. Batches, 2048]);
            Linear("Q4_K 72x5120", [Q4K(72, 5120)], Batches);
            Linear("Q4_K 200x17408 (down's k)", [Q4K(200, 17408)], [1, 3, 8, 17, 64]);
            Linear("Q4_K 5120x5120 (o)", [Q4K(5120, 5120)], [1, 8, 33]);
            Linear("Q4_K q|k|v 40|24|72 k=768", [Q4K(40, 768), Q4K(24, 768), Q4K(72, 768)], [1, 3, 8, 16, 17, 64, 2048]);
            Mixed("Q4_K|Q4_K|Q6_K k=5120", [Q4K(80, 5120), Q4K(16, 5120), Q6K(24, 5120)]);
            Mixed("Q4_K|Q4_K|Q6_K k=512", [Q4K(200, 512), Q4K(40, 512), Q6K(40, 512)]);
            Mixed("Q6_K|Q4_K k=1280", [Q6K(48, 1280), Q4K(72, 1280)]);
            Silu("Q4_K gate|up 200x512", Q4K(200, 512), Q4K(200, 512));
            Silu("Q4_K gate|up 40x5120", Q4K(40, 5120), Q4K(40, 5120));
            Silu("Q4_K gate|up 24x17408", Q4K(24, 17408), Q4K(24, 17408));
            Embedding();
        }
        finally
        {
            cuda.UseCompactQ4K = saved;
            cuda.UseCompactQ6K = savedQ6;
        }
    }

    private QuantizedMatrix Q4K(int rows, int k) => _host.Gguf(WeightFormat.Q4_K, rows, k);

    private QuantizedMatrix Q6K(int rows, int k) => _host.Gguf(WeightFormat.Q6_K, rows, k);

    private void Bytes(int rows, int k)
    {
        try
        {
            var host = _host.GgufRandomBytes(WeightFormat.Q4_K, rows, k);
            long before = cuda.QuantizedWeightBytes;
            cuda.UploadQuantized(host);
            long k4 = cuda.QuantizedWeightBytes - before;
            cuda.UseCompactQ4K = false;
            before = cuda.QuantizedWeightBytes;
            cuda.UploadQuantized(host);
            long g4 = cuda.QuantizedWeightBytes - before;
            cuda.UseCompactQ4K = true;
            double perWeight = (double)k4 / rows / k, file = host.Data.SizeBytes;
            report.Record(Math.Abs(perWeight - 0.578125) < 1e-4 && k4 < g4, $"k4 layout bytes Q4_K {rows}x{k}",
                $"K4 {k4 / 1e6:F2} MB = {perWeight:F4} B/w (file {file / 1e6:F2} MB = {file / rows / k:F4}), G4 {g4 / 1e6:F2} MB = {(double)g4 / rows / k:F4} B/w");
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4 layout bytes Q4_K {rows}x{k}", e);
        }
    }

    private void Linear(string name, QuantizedMatrix[] host, int[] batches)
    {
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            foreach (int rows in batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                long before = cuda.NumK4Launches;
                foreach (var dtype in new[] { DType.F32, DType.BF16 })
                {
                    var actual = _run.CudaLinear(cudaWeight, x, rows, dtype);
                    string path = rows <= CudaBackend.QuantGemvMaxRows ? "k4 gemv" : rows <= cuda.QuantGemmMaxRows ? "k4 gemm" : "k4 dequant+gemm";
                    report.Compare($"k4 linear {name} rows={rows} {(dtype == DType.F32 ? "f32" : "bf16")} ({path})", expected, actual,
                        dtype == DType.F32 ? Tolerance : 2.5e-2, dtype == DType.F32 ? Tolerance : 2.5e-2);
                }
                long launches = cuda.NumK4Launches - before;
                long expectedLaunches = rows <= CudaBackend.QuantGemvMaxRows ? 2 * ((rows + 7) / 8) : 0;
                report.Record(launches == expectedLaunches, $"k4 linear {name} rows={rows} path", $"{launches} K4 GEMV launches, expected {expectedLaunches}");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4 linear {name}", e);
        }
    }

    // Q4_K and Q6_K parts in one launch at 1-8 rows; every column equals the per-family launches (K4 q|k, G6 v) bit for bit.
    private void Mixed(string name, QuantizedMatrix[] host)
    {
        bool saved = cuda.UseMixedG6Gemv;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            foreach (int rows in new[] { 1, 3, 8, 9 })
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.UseMixedG6Gemv = false;
                var separate = _run.CudaLinear(cudaWeight, x, rows);
                cuda.UseMixedG6Gemv = true;
                long before = cuda.NumMixedKQuantLaunches, k4Before = cuda.NumK4Launches;
                var mixed = _run.CudaLinear(cudaWeight, x, rows);
                bool ranMixed = cuda.NumMixedKQuantLaunches == before + 1 && cuda.NumK4Launches == k4Before + 1;
                string label = $"k4 mixed linear {name} rows={rows}";
                report.Record(ranMixed == rows <= CudaBackend.QuantStreamMaxRows, label + " path", ranMixed ? "one gemv_k4g6_stream launch" : "per-family launches");
                int differ = 0;
                for (int i = 0; i < mixed.Length; i++) if (BitConverter.SingleToInt32Bits(mixed[i]) != BitConverter.SingleToInt32Bits(separate[i])) differ++;
                report.Record(differ == 0, label + " = per-family launches bit for bit", $"{differ} of {mixed.Length} values differ");
                report.Compare(label + " vs cpu", expected, mixed, Tolerance, Tolerance);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4 mixed linear {name}", e);
        }
        finally
        {
            cuda.UseMixedG6Gemv = saved;
        }
    }

    private void Silu(string name, QuantizedMatrix gate, QuantizedMatrix up)
    {
        bool savedFuse = cuda.FuseSiluMul;
        try
        {
            QuantizedMatrix[] host = [gate, up];
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = gate.InFeatures, inter = gate.OutFeatures;
            foreach (int rows in new[] { 1, 3, 8, 9 })
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                cuda.FuseSiluMul = false;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                long before = cuda.NumQuantSiluLaunches, k4Before = cuda.NumK4Launches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                bool ranFused = cuda.NumQuantSiluLaunches > before && cuda.NumK4Launches > k4Before;
                string label = $"k4 linear+silu_mul {name} rows={rows}";
                report.Record(ranFused == rows <= CudaBackend.QuantStreamMaxRows, label + " path", ranFused ? "gemv_silu_k4_stream" : "unfused");
                int differ = 0;
                for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), 3e-2, 3e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"k4 linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
        }
    }

    // token_embd in Q4_K at the 14B width: dequant_k4_bf16 computes the CPU's Q4_K weights in F32, so after the one
    // rounding to bf16 every value must equal the CPU's lookup rounded to bf16.
    private void Embedding()
    {
        const int Vocab = 1000, Hidden = 5120, Tokens = 9;
        try
        {
            var host = _host.GgufRandomBytes(WeightFormat.Q4_K, Vocab, Hidden);
            int[] ids = [0, 999, 17, 17, 500, 1, 256, 15, 16];
            var cpuIds = _run.Buffer(_run.Cpu, DType.I32, new Shape(Tokens));
            _run.Cpu.CopyToDevice<int>(ids, cpuIds);
            var cpuOut = _run.Buffer(_run.Cpu, DType.F32, new Shape(Tokens, Hidden));
            _run.Cpu.QuantizedEmbedding(_run.Cpu.UploadQuantized(host), cpuIds, cpuOut);
            var expected = new float[Tokens * Hidden];
            _run.Cpu.CopyToHost<float>(cpuOut, expected);
            var cudaIds = _run.Buffer(cuda, DType.I32, new Shape(Tokens));
            cuda.CopyToDevice<int>(ids, cudaIds);
            var cudaOut = _run.Buffer(cuda, DType.BF16, new Shape(Tokens, Hidden));
            cuda.QuantizedEmbedding(cuda.UploadQuantized(host), cudaIds, cudaOut);
            var bits = new ushort[Tokens * Hidden];
            cuda.CopyToHost<ushort>(cudaOut, bits);
            int differ = 0;
            for (int i = 0; i < bits.Length; i++) if (bits[i] != BFloat16Bits.FromSingle(expected[i])) differ++;
            report.Record(differ == 0, $"k4 token_embd lookup Q4_K {Vocab}x{Hidden} = cpu decode in bf16 bit for bit", $"{differ} of {bits.Length} values differ");
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("k4 token_embd lookup", e);
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
