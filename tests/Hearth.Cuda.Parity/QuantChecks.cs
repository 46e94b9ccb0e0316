using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Quantized Linear and QuantizedEmbedding on CUDA against the CPU backend's kernels for the same host matrices:
/// every format, batches 1, 3, 8 (streaming GEMV), 16, 33 (16-column GEMV, 33 in three launches) and 2048 (dequantized tiles + cuBLASLt), fused and mixed parts.
/// Inputs are rounded to bf16 first so both backends see the same x; outputs are F32.
/// </summary>
internal sealed unsafe class QuantChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [1, 3, 8, 16, 33, 2048];

    private readonly QuantLinearRunner _run = new(cuda);
    private readonly QuantHostMatrices _host = new(random);

    public void RunAll()
    {
        const int Out = 200, In = 512;
        Check("int4 awq g128", () => [Int4(Out, In, 128, zeros: true, permuted: false)]);
        Check("int4 gptq-sym g64", () => [Int4(Out, In, 64, zeros: false, permuted: false)]);
        Check("int4 gptq act-order g128", () => [Int4(Out, In, 128, zeros: true, permuted: true)]);
        Check("fp8 block 128x128 (partial blocks)", () => [Fp8(Out, 640)]);
        foreach (var format in new[] { WeightFormat.Q4_K, WeightFormat.Q6_K, WeightFormat.Q5_K, WeightFormat.Q8_0, WeightFormat.Q4_0 })
            Check($"gguf {format}", () => [Gguf(format, Out, In)], gguf: true);
        Check("gguf Q4_K_M q|k|v mixed (Q4_K, Q4_K, Q6_K)", () => [Gguf(WeightFormat.Q4_K, 128, In), Gguf(WeightFormat.Q4_K, 64, In), Gguf(WeightFormat.Q6_K, 64, In)], gguf: true);
        Check("int4 gate|up fused", () => [Int4(96, In, 128, true, false), Int4(104, In, 128, true, false)]);
        // Three parts in one launch, the last with a partial 16-row tile; and a part of fewer than 16 rows.
        Check("int4 q|k|v fused (3 parts)", () => [Int4(128, In, 64, true, false), Int4(48, In, 64, true, false), Int4(40, In, 64, true, false)]);
        Check("fp8 q|k|v fused (3 parts)", () => [Fp8(160, 640), Fp8(64, 640), Fp8(72, 640)]);
        Check("gguf Q6_K 8 rows", () => [Gguf(WeightFormat.Q6_K, 8, In)], gguf: true);
        // Long k (the 14B down projection's share per warp and more): many ring stages per warp, in the streaming kernel.
        Check("int4 awq g128 k=17408", () => [Int4(40, 17408, 128, zeros: true, permuted: false)]);
        Check("fp8 block k=5120", () => [Fp8(144, 5120)]);
        Check("gguf Q4_K k=5120", () => [Gguf(WeightFormat.Q4_K, 48, 5120)], gguf: true);
        foreach (var format in new[] { WeightFormat.Q4_K, WeightFormat.Q6_K, WeightFormat.Q8_0 }) CheckEmbedding(format);
    }

    private void Check(string name, Func<QuantizedMatrix[]> makeParts, bool gguf = false)
    {
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_run.Cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures, n = cpuWeight.OutFeatures;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = _run.CpuLinear(cpuWeight, x, rows);
                var actual = _run.CudaLinear(cudaWeight, x, rows);
                // The CPU's GGUF kernels quantize x to int8 blocks (as llama.cpp does); the GPU keeps bf16 x.
                double tolerance = gguf ? 2e-2 : 4e-3;
                string path = rows <= CudaBackend.QuantStreamMaxRows ? "stream gemv" : rows <= CudaBackend.QuantGemvChunkedMaxRows ? "gemv" : "dequant+gemm";
                report.Compare($"quant linear {name} rows={rows} ({path})",
                    expected, actual, tolerance, tolerance);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant linear {name}", e);
        }
    }

    private void CheckEmbedding(WeightFormat format)
    {
        try
        {
            const int Vocab = 300, Hidden = 512, Tokens = 7;
            var host = Gguf(format, Vocab, Hidden);
            int[] ids = [0, 299, 17, 17, 150, 1, 256];
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
            var actual = bits.Select(BFloat16Bits.ToSingle).ToArray();
            report.Compare($"quantized embedding {format}", expected, actual, 8e-3, 2e-3);
        }
        catch (Exception e) when (e is HearthException or ArgumentException)
        {
            report.Fail($"quantized embedding {format}", e);
        }
    }

    // The host matrices the GEMM checks use too (same generators, same random stream).
    private QuantizedMatrix Int4(int outFeatures, int inFeatures, int group, bool zeros, bool permuted) =>
        _host.Int4(outFeatures, inFeatures, group, zeros, permuted);

    private QuantizedMatrix Fp8(int outFeatures, int inFeatures) => _host.Fp8(outFeatures, inFeatures);

    private QuantizedMatrix Gguf(WeightFormat format, int outFeatures, int inFeatures) => _host.Gguf(format, outFeatures, inFeatures);

    public void Dispose()
    {
        _run.Dispose();
        _host.Dispose();
    }
}
