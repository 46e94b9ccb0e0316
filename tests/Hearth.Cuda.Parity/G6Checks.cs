using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Every kernel that reads the compact Q6_K layout (G6, CudaQuantG6.cs) against the CPU backend's Q6_K on the same
/// blocks: the decode GEMV (gemv_g6_stream: 1, 3, 8 rows; 9 and 16 in two launches), the tensor-core GEMM (17, 33, 64
/// rows), the dequantize + cuBLASLt path (2048 rows), at k = 512, 5120 and 17408 with rows that are not whole tiles;
/// three G6 parts in one launch; Q4_K_M's q|k|v (Q4_K, Q4_K, Q6_K) in one gemv_g4g6_stream launch (its Q6_K columns
/// equal the G6-only launch bit for bit); gate|up + SiLU·mul fused (= unfused bit for bit); the lm_head shape
/// (151,936 × 5,120) to f32 logits and LinearArgMax; and the bytes the layout takes against the G8 repack.
/// </summary>
internal sealed class G6Checks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8, 9, 16, 17, 33, 64];
    private const double Tolerance = 2e-2;   // the CPU's GGUF kernels quantize x to int8 blocks; the GPU keeps bf16 x

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool saved = cuda.UseCompactQ6K;
        cuda.UseCompactQ6K = true;
        try
        {
            Bytes(5120, 17408);
            Linear("Q6_K 40x512", [Q6K(40, 512)], [.. Batches, 2048]);
            Linear("Q6_K 72x5120", [Q6K(72, 5120)], Batches);
            Linear("Q6_K 200x17408 (down's k)", [Q6K(200, 17408)], [1, 3, 8, 17, 64]);
            Linear("Q6_K 1024x5120 (attn_v)", [Q6K(1024, 5120)], [1, 8, 33]);
            Linear("Q6_K q|k|v 40|24|72 k=768", [Q6K(40, 768), Q6K(24, 768), Q6K(72, 768)], [1, 3, 8, 16, 17, 64, 2048]);
            Mixed("Q4_K|Q4_K|Q6_K k=5120", [Gguf(WeightFormat.Q4_K, 80, 5120), Gguf(WeightFormat.Q4_K, 16, 5120), Q6K(24, 5120)], [2]);
            Mixed("Q4_K|Q4_K|Q6_K k=512", [Gguf(WeightFormat.Q4_K, 200, 512), Gguf(WeightFormat.Q4_K, 40, 512), Q6K(40, 512)], [2]);
            Mixed("Q6_K|Q4_K k=1280", [Q6K(48, 1280), Gguf(WeightFormat.Q4_K, 72, 1280)], [0]);
            Silu("Q6_K gate|up 200x512", Q6K(200, 512), Q6K(200, 512));
            Silu("Q6_K gate|up 40x5120", Q6K(40, 5120), Q6K(40, 5120));
            LmHead();
        }
        finally
        {
            cuda.UseCompactQ6K = saved;
        }
    }

    private QuantizedMatrix Q6K(int rows, int k) => _host.Gguf(WeightFormat.Q6_K, rows, k);

    private QuantizedMatrix Gguf(WeightFormat format, int rows, int k) => _host.Gguf(format, rows, k);

    private void Bytes(int rows, int k)
    {
        try
        {
            var host = _host.GgufRandomBytes(WeightFormat.Q6_K, rows, k);
            long before = cuda.QuantizedWeightBytes;
            cuda.UploadQuantized(host);
            long g6 = cuda.QuantizedWeightBytes - before;
            cuda.UseCompactQ6K = false;
            before = cuda.QuantizedWeightBytes;
            cuda.UploadQuantized(host);
            long g8 = cuda.QuantizedWeightBytes - before;
            cuda.UseCompactQ6K = true;
            double perWeight = (double)g6 / rows / k, file = host.Data.SizeBytes;
            report.Record(g6 - file is >= 0 and < 256, $"g6 layout bytes Q6_K {rows}x{k}",
                $"G6 {g6 / 1e6:F2} MB = {perWeight:F4} B/w (file {file / 1e6:F2} MB), G8 {g8 / 1e6:F2} MB = {(double)g8 / rows / k:F4} B/w");
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6 layout bytes Q6_K {rows}x{k}", e);
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
                long before = cuda.NumG6Launches;
                foreach (var dtype in new[] { DType.F32, DType.BF16 })
                {
                    var actual = _run.CudaLinear(cudaWeight, x, rows, dtype);
                    string path = rows <= CudaBackend.QuantGemvMaxRows ? "g6 gemv" : rows <= cuda.QuantGemmMaxRows ? "g6 gemm" : "g6 dequant+gemm";
                    report.Compare($"g6 linear {name} rows={rows} {(dtype == DType.F32 ? "f32" : "bf16")} ({path})", expected, actual,
                        dtype == DType.F32 ? Tolerance : 2.5e-2, dtype == DType.F32 ? Tolerance : 2.5e-2);
                }
                long launches = cuda.NumG6Launches - before;
                long expectedLaunches = rows <= CudaBackend.QuantGemvMaxRows ? 2 * ((rows + 7) / 8) : 0;
                report.Record(launches == expectedLaunches, $"g6 linear {name} rows={rows} path", $"{launches} G6 GEMV launches, expected {expectedLaunches}");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6 linear {name}", e);
        }
    }

    // Q4_K and Q6_K parts in one launch at 1-8 rows; the Q6_K part (index q6Part) equals the G6-only launch bit for bit.
    private void Mixed(string name, QuantizedMatrix[] host, int[] q6Parts)
    {
        bool saved = cuda.UseMixedG6Gemv;
        try
        {
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, n = cpuWeight.OutFeatures;
            foreach (int rows in new[] { 1, 3, 8, 9 })
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.UseMixedG6Gemv = false;
                var separate = _run.CudaLinear(cudaWeight, x, rows);
                cuda.UseMixedG6Gemv = true;
                long before = cuda.NumMixedKQuantLaunches;
                var mixed = _run.CudaLinear(cudaWeight, x, rows);
                bool ranMixed = cuda.NumMixedKQuantLaunches == before + 1;
                string label = $"g6 mixed linear {name} rows={rows}";
                report.Record(ranMixed == rows <= CudaBackend.QuantStreamMaxRows, label + " path", ranMixed ? "one gemv_g4g6_stream launch" : "per-family launches");
                int differ = 0, column = 0;
                for (int p = 0; p < host.Length; p++)
                {
                    if (q6Parts.Contains(p))
                        for (int r = 0; r < rows; r++)
                            for (int c = column; c < column + host[p].OutFeatures; c++)
                                if (BitConverter.SingleToInt32Bits(mixed[r * n + c]) != BitConverter.SingleToInt32Bits(separate[r * n + c])) differ++;
                    column += host[p].OutFeatures;
                }
                report.Record(differ == 0, label + " Q6_K columns = G6-only launch bit for bit", $"{differ} values differ");
                report.Compare(label + " vs cpu", expected, mixed, Tolerance, Tolerance);
                report.Compare(label + " per-family vs cpu", expected, separate, Tolerance, Tolerance);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6 mixed linear {name}", e);
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
                long before = cuda.NumQuantSiluLaunches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                bool ranFused = cuda.NumQuantSiluLaunches > before;
                string label = $"g6 linear+silu_mul {name} rows={rows}";
                report.Record(ranFused == rows <= CudaBackend.QuantStreamMaxRows, label + " path", ranFused ? "gemv_silu_g6_stream" : "unfused");
                int differ = 0;
                for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), 3e-2, 3e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"g6 linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
        }
    }

    // Qwen3-14B's lm_head in Q6_K: f32 logits for 1 and 3 rows against the CPU, and the greedy pick (LinearArgMax).
    private void LmHead()
    {
        const int Vocab = 151936, Hidden = 5120;
        try
        {
            var host = _host.GgufRandomBytes(WeightFormat.Q6_K, Vocab, Hidden);
            var cpuWeight = new LinearWeight([_run.Cpu.UploadQuantized(host)]);
            var cudaWeight = new LinearWeight([cuda.UploadQuantized(host)]);
            foreach (int rows in new[] { 1, 3 })
            {
                var x = random.Uniform((long)rows * Hidden);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                var logits = _run.CudaLinear(cudaWeight, x, rows);
                report.Compare($"g6 lm_head {Vocab}x{Hidden} rows={rows} f32 logits", expected, logits, Tolerance, Tolerance);

                var input = _run.Buffer(cuda, DType.BF16, new Shape(rows, Hidden));
                cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
                var output = _run.Buffer(cuda, DType.F32, new Shape(rows, Vocab));
                var ids = _run.Buffer(cuda, DType.I32, new Shape(rows));
                ((IBackend)cuda).LinearArgMax(input, cudaWeight, output, ids);
                var picked = new int[rows];
                cuda.CopyToHost<int>(ids, picked);
                for (int r = 0; r < rows; r++)
                {
                    var row = logits.AsSpan(r * Vocab, Vocab);
                    var cpuRow = expected.AsSpan(r * Vocab, Vocab);
                    int best = 0;
                    for (int i = 1; i < Vocab; i++) if (row[i] > row[best]) best = i;
                    float cpuMax = float.MinValue, maxAbs = 0;
                    foreach (float v in cpuRow) { cpuMax = Math.Max(cpuMax, v); maxAbs = Math.Max(maxAbs, Math.Abs(v)); }
                    bool ok = picked[r] == best && cpuRow[picked[r]] >= cpuMax - Tolerance * maxAbs;
                    report.Record(ok, $"g6 lm_head LinearArgMax rows={rows} row {r}",
                        $"picked {picked[r]}, argmax of the f32 logits {best}; cpu logit there {cpuRow[picked[r]]:G6}, cpu max {cpuMax:G6}");
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail("g6 lm_head", e);
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
