using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The quantized GEMV alone at Qwen3-14B's linear shapes (q|k|v 7168×5120 fused, o 5120×5120, gate|up 2×17408×5120
/// fused, down 5120×17408), batch 1, 8 and 16 and batch 1 with the streaming kernel off, per format family: two distinct layers (so that L2 cannot hold the
/// weights) replayed 20 times from one CUDA graph. Prints µs per layer and GB/s of weight bytes in the GPU layout.
/// Weights are random bit patterns (with valid scales): the kernels' speed does not depend on the values.
/// </summary>
internal static unsafe class QuantTiming
{
    private const int Hidden = 5120, Inter = 17408, QkvRows = 7168, KvRows = 1024, Layers = 2, Replays = 20;

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine("quantized GEMV at Qwen3-14B shapes, per decoder layer (4 linears, q|k|v and gate|up fused):");
        var random = new Random(5);
        var hostBlocks = new List<nint>();
        try
        {
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("awq-int4 g128", (n, k) => Int4(n, k, random, hostBlocks)),
                ("fp8 128x128", (n, k) => Fp8(n, k, random, hostBlocks)),
                ("gguf Q4_K", (n, k) => Gguf(WeightFormat.Q4_K, n, k, random, hostBlocks)),
                ("gguf Q6_K", (n, k) => Gguf(WeightFormat.Q6_K, n, k, random, hostBlocks)),
                ("gguf Q8_0", (n, k) => Gguf(WeightFormat.Q8_0, n, k, random, hostBlocks)),
            })
            {
                long before = cuda.QuantizedWeightBytes;
                var layers = new List<LinearWeight[]>();
                for (int l = 0; l < Layers; l++)
                    layers.Add([
                        Fused(cuda, make(Hidden, Hidden), make(KvRows, Hidden), make(KvRows, Hidden)),
                        Fused(cuda, make(Hidden, Hidden)),
                        Fused(cuda, make(Inter, Hidden), make(Inter, Hidden)),
                        Fused(cuda, make(Hidden, Inter)),
                    ]);
                FreeHost(hostBlocks);
                double bytesPerLayer = (double)(cuda.QuantizedWeightBytes - before) / Layers;
                var line = new List<string>();
                // m = 1 once more with the 16-column kernel (the streaming one off): the baseline, in the same run.
                foreach (var (batch, stream) in new[] { (1, true), (8, true), (16, true), (1, false) })
                {
                    cuda.UseQuantStreamGemv = stream;
                    double seconds = PerLayer(cuda, layers, batch);
                    line.Add($"m={batch}{(stream ? "" : " (16-col)")}: {seconds * 1e6:F1} us ({bytesPerLayer / seconds / 1e9:F0} GB/s)");
                }
                cuda.UseQuantStreamGemv = true;
                Console.WriteLine($"  {name,-14} {bytesPerLayer / 1e6:F1} MB/layer  " + string.Join("  ", line));
            }
        }
        finally
        {
            FreeHost(hostBlocks);
        }
    }

    internal static LinearWeight Fused(CudaBackend cuda, params QuantizedMatrix[] parts) =>
        new(parts.Select(cuda.UploadQuantized).ToArray());

    private static double PerLayer(CudaBackend cuda, List<LinearWeight[]> layers, int batch)
    {
        using var memory = new BackendPair(cuda, cuda);
        var inputs = new[] { memory.Zeros(cuda, new Shape(batch, Hidden), DType.BF16), memory.Zeros(cuda, new Shape(batch, Inter), DType.BF16) };
        var outputs = new[] { memory.Zeros(cuda, new Shape(batch, 2 * Inter), DType.BF16) };
        void Step()
        {
            foreach (var layer in layers)
                for (int i = 0; i < layer.Length; i++)
                {
                    var w = layer[i];
                    var output = new Tensor(outputs[0].Data, DType.BF16, new Shape(batch, w.OutFeatures));
                    cuda.Linear(w.InFeatures == Hidden ? inputs[0] : inputs[1], w, output);
                }
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, Replays) / layers.Count;
    }

    internal static QuantizedMatrix Int4(int n, int k, Random random, List<nint> blocks)
    {
        var data = Host<byte>(n * k / 2, blocks);
        random.NextBytes(data);
        var scales = Host<float>(n * k / 128, blocks);
        var zeros = Host<float>(n * k / 128, blocks);
        scales.Fill(0.01f);
        zeros.Fill(8f);
        return QuantizedMatrix.Int4Group(n, k, 128, Wrap(data, DType.U8, new Shape(n, k / 2)), Wrap(scales, DType.F32, new Shape(n, k / 128)),
            Wrap(zeros, DType.F32, new Shape(n, k / 128)));
    }

    internal static QuantizedMatrix Fp8(int n, int k, Random random, List<nint> blocks)
    {
        var data = Host<byte>(n * k, blocks);
        random.NextBytes(data);
        foreach (ref byte b in data) b &= 0xF7; // no NaN (0x7F, 0xFF)
        var scales = Host<float>((n / 128) * (k / 128), blocks);
        scales.Fill(1e-3f);
        return QuantizedMatrix.Fp8Block(n, k, 128, 128, Wrap(data, DType.F8E4M3, new Shape(n, k)), Wrap(scales, DType.F32, new Shape(n / 128, k / 128)));
    }

    private static QuantizedMatrix Gguf(WeightFormat format, int n, int k, Random random, List<nint> blocks)
    {
        int blockBytes = format.GgufBlockBytes(), blocksPerRow = k / format.GgufBlockElements();
        var data = Host<byte>(n * blocksPerRow * blockBytes, blocks);
        random.NextBytes(data);
        // The f16 super-block scales (Q4_K: d, dmin first; Q6_K: d last; Q8_0: d first) get a small finite value.
        ushort d = BitConverter.HalfToUInt16Bits((Half)0.001f);
        for (long b = 0; b < (long)n * blocksPerRow; b++)
        {
            var block = data.Slice((int)(b * blockBytes), blockBytes);
            if (format == WeightFormat.Q6_K) MemoryMarshal.Write(block[208..], in d);
            else MemoryMarshal.Write(block, in d);
            if (format == WeightFormat.Q4_K) MemoryMarshal.Write(block[2..], in d);
        }
        return QuantizedMatrix.Gguf(format, n, k, Wrap(data, DType.U8, new Shape(n, blocksPerRow * blockBytes)));
    }

    private static Span<T> Host<T>(long count, List<nint> blocks) where T : unmanaged
    {
        nint block = (nint)NativeMemory.AlignedAlloc((nuint)(count * sizeof(T)), 64);
        blocks.Add(block);
        return new Span<T>((void*)block, checked((int)count));
    }

    private static Tensor Wrap<T>(Span<T> span, DType dtype, Shape shape) where T : unmanaged
    {
        fixed (T* p = span) return new Tensor((nint)p, dtype, shape);
    }

    internal static void FreeHost(List<nint> blocks)
    {
        foreach (nint block in blocks) NativeMemory.AlignedFree((void*)block);
        blocks.Clear();
    }
}
