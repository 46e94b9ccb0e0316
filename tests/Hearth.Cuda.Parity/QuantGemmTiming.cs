using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// One Qwen3-14B decoder layer's four linears (q|k|v 7168×5120 and gate|up 2×17408×5120 fused, o 5120×5120, down
/// 5120×17408) replayed from a CUDA graph at 32, 64, 128, 256 and 2048 rows: bf16 (cuBLASLt) as the baseline, then
/// each quantized format through the tensor-core GEMM (up to 256 rows; 2048: the default path, dequantize +
/// cuBLASLt) and through the path it replaced (batches ≤ 64: the 16-row GEMV in launches of 16; larger: dequantize +
/// cuBLASLt); fp8 as W8A16 (the default) and W8A8 (sm_89+; 2048 rows included).
/// Prints µs per layer and the weight stream in GB/s. A layer (≥ 165 MB) does not fit the 50 MB L2.
/// </summary>
internal static class QuantGemmTiming
{
    private const int Hidden = 5120, Inter = 17408, KvRows = 1024, Replays = 10;
    private static readonly int[] Batches = [32, 64, 128, 256, 2048];

    // Inputs and output at the largest batch, shared by every timing of one Run.
    private static (Tensor Hidden, Tensor Inter, Tensor Output)? _buffers;

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine("quantized GEMM at Qwen3-14B shapes, per decoder layer (us; GB/s of weights; x = speed vs bf16):");
        using var host = new QuantHostMatrices(new RandomData(3));
        using var memory = new BackendPair(cuda, cuda);
        _buffers = null;
        long before = cuda.DeviceWeightBytes;
        var bf16 = Layer(cuda, (n, k) => null, memory);
        double bf16Bytes = 2.0 * ((7168L + Hidden + 2L * Inter) * Hidden + (long)Hidden * Inter);
        var baseline = Batches.ToDictionary(b => b, b => PerLayer(cuda, bf16, b, memory));
        Console.WriteLine("  bf16 " + string.Join("  ", Batches.Select(b => Line(b, baseline[b], bf16Bytes, baseline[b]))));
        foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
        {
            ("awq-int4 g128", (n, k) => host.Int4RandomBytes(n, k, 128)),
            ("fp8 128x128", (n, k) => host.Fp8RandomBytes(n, k)),
            ("gguf Q4_K_M", (n, k) => host.GgufRandomBytes(k == Inter ? WeightFormat.Q6_K : WeightFormat.Q4_K, n, k)),
        })
        {
            long start = cuda.QuantizedWeightBytes;
            var layer = Layer(cuda, (n, k) => make(n, k), memory);
            host.Dispose();
            double bytes = cuda.QuantizedWeightBytes - start;
            bool fp8 = name.StartsWith("fp8", StringComparison.Ordinal);
            var lines = new List<string>();
            foreach (int batch in Batches)
            {
                // The GEMM at every batch up to 256 (the default hands batches above QuantGemmMaxRows to dequantize + cuBLASLt).
                int defaultMax = cuda.QuantGemmMaxRows;
                cuda.QuantGemmMaxRows = 256;
                double now = PerLayer(cuda, layer, batch, memory);
                cuda.QuantGemmMaxRows = defaultMax;
                string entry = Line(batch, now, bytes, baseline[batch]);
                if (fp8 && cuda.SupportsFp8W8A8)
                {
                    cuda.UseFp8W8A8 = true;
                    cuda.QuantGemmMaxRows = 256;
                    entry += string.Create(CultureInfo.InvariantCulture, $" [W8A8 {PerLayer(cuda, layer, batch, memory) * 1e6:F1}]");
                    cuda.UseFp8W8A8 = false;
                    cuda.QuantGemmMaxRows = defaultMax;
                }
                if (batch <= 256)
                {
                    cuda.UseQuantGemm = false;
                    bool w8a8 = cuda.UseFp8W8A8;
                    cuda.UseFp8W8A8 = false;
                    entry += string.Create(CultureInfo.InvariantCulture,
                        $" [{(batch <= CudaBackend.QuantGemvChunkedMaxRows ? "gemv x16" : "dequant+cuBLASLt")} {PerLayer(cuda, layer, batch, memory) * 1e6:F1}]");
                    cuda.UseQuantGemm = true;
                    cuda.UseFp8W8A8 = w8a8;
                }
                lines.Add(entry);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} ({bytes / 1e6:F1} MB/layer)"));
            foreach (string line in lines) Console.WriteLine("    " + line);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  (timing weights took {(cuda.DeviceWeightBytes - before) / 1e9:F2} GB of device memory)"));
    }

    private static string Line(int batch, double seconds, double bytes, double bf16Seconds) => string.Create(CultureInfo.InvariantCulture,
        $"m={batch}: {seconds * 1e6:F1} us ({bytes / seconds / 1e9:F0} GB/s, {bf16Seconds / seconds:F2}x)");

    /// <summary>make returns null for a dense bf16 part (zeros: cuBLASLt's speed does not depend on values).</summary>
    private static LinearWeight[] Layer(CudaBackend cuda, Func<int, int, QuantizedMatrix?> make, BackendPair memory)
    {
        LinearWeight Fused(params (int N, int K)[] shapes)
        {
            var parts = shapes.Select(s => make(s.N, s.K)).ToArray();
            if (parts[0] is null) return LinearWeight.Dense(shapes.Select(s => memory.Zeros(cuda, new Shape(s.N, s.K), DType.BF16)).ToArray());
            return new LinearWeight(parts.Select(p => cuda.UploadQuantized(p!)).ToArray());
        }
        return [Fused((Hidden, Hidden), (KvRows, Hidden), (KvRows, Hidden)), Fused((Hidden, Hidden)), Fused((Inter, Hidden), (Inter, Hidden)), Fused((Hidden, Inter))];
    }

    private static double PerLayer(CudaBackend cuda, LinearWeight[] layer, int batch, BackendPair memory)
    {
        int maxBatch = Batches[^1];
        _buffers ??= (memory.Zeros(cuda, new Shape(maxBatch, Hidden), DType.BF16), memory.Zeros(cuda, new Shape(maxBatch, Inter), DType.BF16),
            memory.Zeros(cuda, new Shape(maxBatch, 2 * Inter), DType.BF16));
        var (hidden, inter, output) = _buffers.Value;
        void Step()
        {
            foreach (var w in layer)
                cuda.Linear(new Tensor(w.InFeatures == Hidden ? hidden.Data : inter.Data, DType.BF16, new Shape(batch, w.InFeatures)), w,
                    new Tensor(output.Data, DType.BF16, new Shape(batch, w.OutFeatures)));
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, batch >= 2048 ? 3 : Replays);
    }
}
