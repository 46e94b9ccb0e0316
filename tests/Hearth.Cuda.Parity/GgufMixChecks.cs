using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Fused GGUF parts of two families in one launch (gemv_g4g8_stream, CudaBackend.KQuantMixed.cs) at rows 1, 3 and 8:
/// Q4_K_M's real q|k|v mix (Q4_K, Q4_K, Q6_K) at k = 512 and 5120 with rows that are not whole tiles, the g8 part first,
/// and Q4_K with Q8_0 (another g8 group size); and Q4_K alone (q|k|v, o shapes) through gemv_g4_ring_stream. Each must
/// run the mixed kernel when it mixes families (9 rows must not), equal the session-6 path (per-family launches, g4 in
/// registers: UseMixedKQuantGemv off, KQuantRingMaxTiles 0) bit for bit, in bf16 and F32 outputs, and match the CPU
/// backend within the GGUF tolerance (the CPU quantizes x to int8 blocks).
/// </summary>
internal sealed class GgufMixChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8, 9];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        Check("Q4_K|Q4_K|Q6_K k=512", () => [Gguf(WeightFormat.Q4_K, 200, 512), Gguf(WeightFormat.Q4_K, 40, 512), Gguf(WeightFormat.Q6_K, 40, 512)]);
        Check("Q4_K|Q4_K|Q6_K k=5120", () => [Gguf(WeightFormat.Q4_K, 80, 5120), Gguf(WeightFormat.Q4_K, 16, 5120), Gguf(WeightFormat.Q6_K, 24, 5120)]);
        Check("Q6_K|Q4_K k=512", () => [Gguf(WeightFormat.Q6_K, 48, 512), Gguf(WeightFormat.Q4_K, 72, 512)]);
        Check("Q4_K|Q8_0|Q4_K k=768", () => [Gguf(WeightFormat.Q4_K, 64, 768), Gguf(WeightFormat.Q8_0, 33, 768), Gguf(WeightFormat.Q4_K, 16, 768)]);
        Check("Q4_K|Q4_K|Q4_K k=512 (g4 ring)", () => [Gguf(WeightFormat.Q4_K, 96, 512), Gguf(WeightFormat.Q4_K, 40, 512), Gguf(WeightFormat.Q4_K, 24, 512)], mixes: false);
        Check("Q4_K k=1792 (g4 ring)", () => [Gguf(WeightFormat.Q4_K, 72, 1792)], mixes: false);
    }

    private void Check(string name, Func<QuantizedMatrix[]> makeParts, bool mixes = true)
    {
        bool saved = cuda.UseMixedKQuantGemv;
        int savedRing = cuda.KQuantRingMaxTiles;
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, n = cpuWeight.OutFeatures;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                string label = $"gguf mixed-family linear {name} rows={rows}";
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                foreach (var dtype in new[] { DType.F32, DType.BF16 })
                {
                    cuda.UseMixedKQuantGemv = false;
                    cuda.KQuantRingMaxTiles = 0;
                    var separate = _run.CudaLinear(cudaWeight, x, rows, dtype);
                    cuda.UseMixedKQuantGemv = true;
                    cuda.KQuantRingMaxTiles = savedRing;
                    long before = cuda.NumMixedKQuantLaunches;
                    var mixed = _run.CudaLinear(cudaWeight, x, rows, dtype);
                    bool ranMixed = cuda.NumMixedKQuantLaunches == before + 1;
                    string out_ = dtype == DType.F32 ? "f32" : "bf16";
                    report.Record(ranMixed == (mixes && rows <= CudaBackend.QuantStreamMaxRows), $"{label} {out_} path",
                        ranMixed ? "one gemv_g4g8_stream launch" : "per-family launches");
                    int differ = 0;
                    for (int i = 0; i < mixed.Length; i++) if (BitConverter.SingleToInt32Bits(mixed[i]) != BitConverter.SingleToInt32Bits(separate[i])) differ++;
                    report.Record(differ == 0, $"{label} {out_} = per-family register launches bit for bit", $"{differ} of {mixed.Length} values differ");
                    double tolerance = dtype == DType.F32 ? 2e-2 : 2.5e-2;
                    report.Compare($"{label} {out_} vs cpu", expected, mixed, tolerance, tolerance);
                }
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"gguf mixed-family linear {name}", e);
        }
        finally
        {
            cuda.UseMixedKQuantGemv = saved;
            cuda.KQuantRingMaxTiles = savedRing;
        }
    }

    private QuantizedMatrix Gguf(WeightFormat format, int outFeatures, int inFeatures) => _host.Gguf(format, outFeatures, inFeatures);

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
