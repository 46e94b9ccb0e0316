using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The tensor-core quantized GEMM (gemm_quant.cu) on random data: every layout against the CPU backend's kernels at
/// batches of 17..256 rows (one and two column tiles, column chunks, split and unsplit k, fused and sub-tile parts,
/// act-order), bit-identical repeats (the split fixup sums in a fixed order), and W8A8 FP8 against a CPU reference
/// of its exact math (the same activation quantization and scale folding) tightly and against W8A16 loosely.
/// </summary>
internal sealed class QuantGemmChecks(CudaBackend cuda, ParityReport report, RandomData random) : IDisposable
{
    private static readonly int[] Batches = [17, 32, 40, 64, 100, 256];

    private readonly CpuBackend _cpu = new();
    private readonly QuantHostMatrices _host = new(random);
    private readonly BackendPair _memory = new(cuda, cuda);

    public void RunAll()
    {
        bool w8a8 = cuda.UseFp8W8A8;
        int maxRows = cuda.QuantGemmMaxRows;
        cuda.UseFp8W8A8 = false;   // these compare W8A16 with the CPU's exact f32 math
        cuda.QuantGemmMaxRows = 256;   // the GEMM past its default range too (column chunks)
        const int Out = 200, In = 512;
        Check("int4 awq g128", () => [_host.Int4(Out, In, 128, zeros: true)]);
        Check("int4 gptq-sym g32", () => [_host.Int4(Out, In, 32, zeros: false)]);
        Check("int4 gptq act-order g64", () => [_host.Int4(Out, In, 64, zeros: true, permuted: true)]);
        Check("int4 g64 k=192 (unsplit)", () => [_host.Int4(Out, 192, 64, zeros: true)]);
        Check("int4 q|k|v fused (3 parts, sub-tile)", () => [_host.Int4(128, In, 128, true), _host.Int4(48, In, 128, true), _host.Int4(40, In, 128, true)]);
        Check("int4 gate|up fused, 1000 rows", () => [_host.Int4(1000, 1024, 128, true), _host.Int4(1000, 1024, 128, true)]);
        Check("fp8 W8A16 block 128x128 (partial blocks)", () => [_host.Fp8(Out, 640)]);
        Check("fp8 W8A16 q|k|v fused", () => [_host.Fp8(160, 640), _host.Fp8(64, 640), _host.Fp8(72, 640)]);
        foreach (var format in new[] { WeightFormat.Q4_K, WeightFormat.Q6_K, WeightFormat.Q5_K, WeightFormat.Q8_0, WeightFormat.Q4_0 })
            Check($"gguf {format}", () => [_host.Gguf(format, Out, In)], gguf: true);
        cuda.QuantGemmMaxRows = maxRows;
        if (!cuda.SupportsFp8W8A8)
        {
            report.Record(true, "w8a8", $"skipped: {cuda.Architecture} has no FP8 tensor cores (W8A16 runs instead)");
            cuda.UseFp8W8A8 = w8a8;
            return;
        }
        cuda.UseFp8W8A8 = true;
        CheckW8A8("fp8 W8A8", Out, 640, [17, 64, 300, 2048]);
        CheckW8A8("fp8 W8A8 k=5120", 256, 5120, [32]);
        cuda.UseFp8W8A8 = w8a8;
    }

    /// <summary>
    /// The quantized fp8 parrots (directory names containing "fp8") once more with W8A8 on (sm_89+): against the CPU
    /// on the same weights and against the bf16 model (KL, top-1), and the 12 cases greedily through the engine.
    /// </summary>
    public static void Fp8ParrotsW8A8(string modelDir, IEnumerable<string> quantDirs, CudaBackend cuda, ParityReport report)
    {
        if (!cuda.SupportsFp8W8A8) return;
        bool w8a8 = cuda.UseFp8W8A8;
        cuda.UseFp8W8A8 = true;
        foreach (string dir in quantDirs.Where(d => Path.GetFileName(d.TrimEnd('/')).Contains("fp8", StringComparison.Ordinal)))
        {
            Console.WriteLine($"with W8A8 (HEARTH_CUDA_FP8_W8A8=1): {dir}");
            QuantModelChecks.Run(modelDir, dir, cuda, report);
            EngineChecks.ParrotCases(dir, cuda, report);
        }
        cuda.UseFp8W8A8 = w8a8;
    }

    private void Check(string name, Func<QuantizedMatrix[]> makeParts, bool gguf = false)
    {
        try
        {
            var host = makeParts();
            var cpuWeight = new LinearWeight(host.Select(_cpu.UploadQuantized).ToArray());
            var cudaWeight = new LinearWeight(host.Select(cuda.UploadQuantized).ToArray());
            int k = host[0].InFeatures;
            foreach (int rows in Batches)
            {
                var x = random.Uniform((long)rows * k);
                var expected = RunCpu(cpuWeight, x, rows);
                var actual = RunCuda(cudaWeight, x, rows);
                // The GEMM rounds each dequantized weight to bf16 (as the dequantize + cuBLASLt path does); the
                // CPU's GGUF kernels quantize x to int8 blocks.
                double tolerance = gguf ? 2e-2 : 4e-3;
                report.Compare($"quant gemm {name} rows={rows}", expected, actual, tolerance, tolerance);
                if (rows == 64)
                    report.Record(actual.AsSpan().SequenceEqual(RunCuda(cudaWeight, x, rows)), $"quant gemm {name} rows={rows} repeat", "bit-identical");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant gemm {name}", e);
        }
    }

    private void CheckW8A8(string name, int outFeatures, int inFeatures, int[] batches)
    {
        try
        {
            var host = _host.Fp8(outFeatures, inFeatures);
            var weight = LinearWeight.Quantized(cuda.UploadQuantized(host));
            foreach (int rows in batches)
            {
                var x = random.Uniform((long)rows * inFeatures, -2f, 2f);
                for (int i = 0; i < inFeatures; i++) x[i] *= 1e-3f;   // one row of tiny values: its own scale
                var expected = W8A8Reference.Linear(x, rows, inFeatures, QuantHostMatrices.Fp8Data(host), QuantHostMatrices.Fp8Scales(host), outFeatures, 128, 128);
                var actual = RunCuda(weight, x, rows);
                // Same quantized operands on both sides; only the tensor cores' FP8 accumulation (not full F32 on
                // Hopper) and the F32 folds differ. A wrong fragment, scale or group would be off by whole percents.
                report.Compare($"quant gemm {name} {outFeatures}x{inFeatures} rows={rows} vs CPU W8A8 reference", expected, actual, 5e-4, 2e-4);
                cuda.UseFp8W8A8 = false;
                var w8a16 = RunCuda(weight, x, rows);
                cuda.UseFp8W8A8 = true;
                // e4m3 activations keep 3 mantissa bits: relative error up to 1/16 an element, far less summed.
                report.Compare($"quant gemm {name} {outFeatures}x{inFeatures} rows={rows} vs W8A16 (loose)", w8a16, actual, 5e-2, 3e-2);
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            report.Fail($"quant gemm {name}", e);
        }
    }

    private float[] RunCpu(LinearWeight weight, float[] x, int rows)
    {
        var input = _memory.Zeros(_cpu, new Shape(rows, weight.InFeatures), DType.F32);
        _cpu.CopyToDevice<float>(x, input);
        var output = _memory.Zeros(_cpu, new Shape(rows, weight.OutFeatures), DType.F32);
        _cpu.Linear(input, weight, output);
        var result = new float[output.NumElements];
        _cpu.CopyToHost<float>(output, result);
        return result;
    }

    private float[] RunCuda(LinearWeight weight, float[] x, int rows)
    {
        var input = _memory.Zeros(cuda, new Shape(rows, weight.InFeatures), DType.BF16);
        cuda.CopyToDevice<ushort>(x.Select(BFloat16Bits.FromSingle).ToArray(), input);
        var output = _memory.Zeros(cuda, new Shape(rows, weight.OutFeatures), DType.F32);
        cuda.Linear(input, weight, output);
        var result = new float[output.NumElements];
        cuda.CopyToHost<float>(output, result);
        return result;
    }

    public void Dispose()
    {
        _memory.Dispose();
        _host.Dispose();
        _cpu.Dispose();
    }
}
