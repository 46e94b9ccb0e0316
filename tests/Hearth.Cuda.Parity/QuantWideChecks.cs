using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The wide quantized GEMV (gemv_quant_wide.cu, f8 and opt-in g4 tiles at 1-8 rows) at every warp count a tile can take
/// (4, 8, and the default rule): against the CPU backend's Linear on the same host matrices (rows 1, 3, 8; fp8 with
/// partial row blocks, odd row counts and e4m3 subnormals; int4 AWQ and GPTQ-sym g64, 8 groups a stage; fused q|k|v;
/// k = 5120 and 17408), against the register-stream kernel it replaces (UseQuantWideGemv off), and its fused gate|up +
/// SiLU·mul against its own unfused Linear then SiluMul, bit for bit. Checks that the wide kernel ran (its launch count).
/// </summary>
internal sealed class QuantWideChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8];
    private static readonly int?[] WarpChoices = [null, 4, 8];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        bool savedG4 = cuda.UseQuantWideGemvG4;
        cuda.UseQuantWideGemvG4 = true;   // off by default for speed; the kernel is checked all the same
        try { RunChecks(); }
        finally { cuda.UseQuantWideGemvG4 = savedG4; }
    }

    private void RunChecks()
    {
        Linear("fp8 odd n=203 (partial row block)", () => [_host.Fp8(203, 768)]);
        Linear("fp8 q|k|v fused 160|72|41", () => [_host.Fp8(160, 1024), _host.Fp8(72, 1024), _host.Fp8(41, 1024)]);
        Linear("fp8 k=5120 n=77", () => [_host.Fp8(77, 5120)]);
        Linear("fp8 k=17408 n=24", () => [_host.Fp8(24, 17408)]);
        Linear("int4 awq g128 n=101", () => [_host.Int4(101, 512, 128, zeros: true)]);
        Linear("int4 gptq-sym g64 (8 groups a stage)", () => [_host.Int4(64, 512, 64, zeros: false)]);
        Linear("int4 awq g128 k=17408", () => [_host.Int4(40, 17408, 128, zeros: true)]);
        Silu("fp8 gate|up n=203", () => [_host.Fp8(203, 768), _host.Fp8(203, 768)]);
        Silu("int4 awq gate|up n=120", () => [_host.Int4(120, 512, 128, zeros: true), _host.Int4(120, 512, 128, zeros: true)]);
    }

    private void Linear(string name, Func<QuantizedMatrix[]> makeParts)
    {
        int? savedWarps = cuda.QuantWideWarps;
        bool savedWide = cuda.UseQuantWideGemv;
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                cuda.UseQuantWideGemv = false;
                var stream = _run.CudaLinear(cudaWeight, x, rows);
                cuda.UseQuantWideGemv = true;
                foreach (int? warps in WarpChoices)
                {
                    cuda.QuantWideWarps = warps;
                    long before = cuda.NumQuantWideLaunches;
                    var wide = _run.CudaLinear(cudaWeight, x, rows);
                    string label = $"quant wide linear {name} rows={rows} warps={warps?.ToString() ?? "default"}";
                    report.Record(cuda.NumQuantWideLaunches > before, label + " ran the wide kernel", $"{cuda.NumQuantWideLaunches - before} launches");
                    // As QuantChecks holds the other GEMVs to the CPU; against the stream kernel only the summation order differs.
                    report.Compare(label + " vs cpu", expected, wide, 4e-3, 4e-3);
                    report.Compare(label + " vs stream kernel", stream, wide, 1e-5, 1e-5);
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant wide linear {name}", e);
        }
        finally
        {
            cuda.QuantWideWarps = savedWarps;
            cuda.UseQuantWideGemv = savedWide;
        }
    }

    private void Silu(string name, Func<QuantizedMatrix[]> makeParts)
    {
        int? savedWarps = cuda.QuantWideWarps;
        bool savedFuse = cuda.FuseSiluMul, savedWide = cuda.UseQuantWideGemv;
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, inter = host[0].OutFeatures;
            cuda.UseQuantWideGemv = true;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinearSiluMul(cpuWeight, x, rows, inter);
                foreach (int? warps in WarpChoices)
                {
                    cuda.QuantWideWarps = warps;
                    string label = $"quant wide linear+silu_mul {name} rows={rows} warps={warps?.ToString() ?? "default"}";
                    cuda.FuseSiluMul = false;
                    long before = cuda.NumQuantWideLaunches;
                    var unfused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                    bool unfusedWide = cuda.NumQuantWideLaunches > before;
                    cuda.FuseSiluMul = true;
                    long siluBefore = cuda.NumQuantSiluLaunches;
                    before = cuda.NumQuantWideLaunches;
                    var fused = _run.CudaLinearSiluMul(cudaWeight, x, rows, inter);
                    bool fusedWide = cuda.NumQuantWideLaunches > before && cuda.NumQuantSiluLaunches > siluBefore;
                    report.Record(unfusedWide && fusedWide, label + " path", $"unfused wide: {unfusedWide}, fused wide: {fusedWide}");
                    int differ = 0;
                    for (int i = 0; i < fused.Length; i++) if (fused[i] != unfused[i]) differ++;
                    report.Record(differ == 0, label + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
                    report.Compare(label + " vs cpu", expected, fused.Select(BFloat16Bits.ToSingle).ToArray(), 2e-2, 2e-2);
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant wide linear+silu_mul {name}", e);
        }
        finally
        {
            cuda.QuantWideWarps = savedWarps;
            cuda.FuseSiluMul = savedFuse;
            cuda.UseQuantWideGemv = savedWide;
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
