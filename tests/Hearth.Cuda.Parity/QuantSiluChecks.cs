using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// IBackend.LinearSiluMul with quantized gate|up weights (gemv_silu_*_stream at 1-8 rows): the fused result must equal
/// CUDA's unfused Linear then SiluMul bit for bit, and the CPU backend's Linear then SiluMul within bf16 roundings,
/// for int4 (AWQ, GPTQ-sym), fp8 blocks and GGUF Q4_K / Q6_K / Q8_0, rows 1, 3 and 8; 9 rows take the unfused path.
/// </summary>
internal sealed class QuantSiluChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8, 9];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        const int Inter = 200, In = 512;
        Check("int4 awq g128", () => [_host.Int4(Inter, In, 128, zeros: true), _host.Int4(Inter, In, 128, zeros: true)], gguf: false);
        Check("int4 gptq-sym g64", () => [_host.Int4(Inter, In, 64, zeros: false), _host.Int4(Inter, In, 64, zeros: false)], gguf: false);
        Check("int4 awq g128 k=17408", () => [_host.Int4(40, 17408, 128, zeros: true), _host.Int4(40, 17408, 128, zeros: true)], gguf: false);
        Check("fp8 block 128x128 (partial blocks)", () => [_host.Fp8(Inter, 640), _host.Fp8(Inter, 640)], gguf: false);
        foreach (var format in new[] { WeightFormat.Q4_K, WeightFormat.Q6_K, WeightFormat.Q8_0 })
            Check($"gguf {format}", () => [_host.Gguf(format, Inter, In), _host.Gguf(format, Inter, In)], gguf: true);
    }

    private void Check(string name, Func<QuantizedMatrix[]> makeParts, bool gguf)
    {
        bool savedFuse = cuda.FuseSiluMul, savedFp8 = cuda.FuseQuantSiluMulFp8;
        cuda.FuseQuantSiluMulFp8 = true;   // off by default for speed; the kernel is checked all the same
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, inter = host[0].OutFeatures;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                cuda.FuseSiluMul = false;
                var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                cuda.FuseSiluMul = true;
                long launchesBefore = cuda.NumQuantSiluLaunches;
                var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                bool ranFused = cuda.NumQuantSiluLaunches > launchesBefore;
                string label = $"quant linear+silu_mul {name} rows={rows}";
                report.Record(ranFused == rows <= CudaBackend.QuantStreamMaxRows, label + " path",
                    ranFused ? "fused gemv_silu stream kernel" : "unfused Linear then SiluMul");
                int differ = 0;
                for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                // Two bf16 roundings (g and u, then the product) on top of the GEMV's; the CPU's GGUF kernels also quantize x.
                double tolerance = gguf ? 3e-2 : 2e-2;
                report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), tolerance, tolerance);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.FuseSiluMul = savedFuse;
            cuda.FuseQuantSiluMulFp8 = savedFp8;
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
