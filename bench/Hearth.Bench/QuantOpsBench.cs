using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Bench;

/// <summary>
/// Decode GEMV of one Qwen3-0.6B step's projections (28 layers' distinct weights, so nothing is served from
/// cache) in BF16, Int4Group (AWQ/GPTQ after repacking) and Fp8Block, against the measured read bandwidth.
/// Weights are random bit patterns of the right layout; only speed is measured. Args: [--threads N].
/// </summary>
public static unsafe class QuantOpsBench
{
    private const int Hidden = 1024, QkvOut = 4096, Intermediate = 3072, Layers = 28;

    public static int Run(string[] args)
    {
        int threads = args.Length >= 2 && args[0] == "--threads" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;
        using var backend = new CpuBackend(threads);
        double bandwidth = MemoryBandwidth.MeasureReadGBps(backend.NumThreads);
        Console.WriteLine($"quant-ops: {backend.NumThreads} threads, {backend.SimdLevel}; read bandwidth {bandwidth:F1} GB/s");
        var buffers = new List<DeviceBuffer>();
        var random = new Random(1);
        try
        {
            Tensor Alloc(DType dtype, Shape shape)
            {
                var buffer = backend.Allocate(shape.NumElements * dtype.ElementSizeBytes());
                buffers.Add(buffer);
                var bytes = new Span<byte>((void*)buffer.Data, checked((int)buffer.SizeBytes));
                random.NextBytes(bytes);
                return buffer.AsTensor(dtype, shape);
            }
            Tensor Scales(int rows, int cols)
            {
                var t = Alloc(DType.F32, new Shape(rows, cols));
                for (long i = 0; i < t.NumElements; i++) ((float*)t.Data)[i] = 0.01f;
                return t;
            }
            QuantizedMatrix Make(string format, int rows, int cols) => format switch
            {
                "bf16" => QuantizedMatrix.Dense(Alloc(DType.BF16, new Shape(rows, cols))),
                "int4" => QuantizedMatrix.Int4Group(rows, cols, 128, Alloc(DType.U8, new Shape(rows, cols / 2)),
                    Scales(rows, cols / 128), Scales(rows, cols / 128)),
                _ => QuantizedMatrix.Fp8Block(rows, cols, 128, 128, Alloc(DType.F8E4M3, new Shape(rows, cols)),
                    Scales((rows + 127) / 128, (cols + 127) / 128)),
            };
            var x = Alloc(DType.F32, new Shape(1, Intermediate));
            var y = Alloc(DType.F32, new Shape(1, 2 * Intermediate));
            for (int i = 0; i < Intermediate; i++) ((float*)x.Data)[i] = 0.5f;
            foreach (string format in new[] { "bf16", "int4", "fp8" })
            {
                var layers = new (LinearWeight Qkv, LinearWeight O, LinearWeight GateUp, LinearWeight Down)[Layers];
                long bytes = 0;
                for (int l = 0; l < Layers; l++)
                {
                    layers[l] = (
                        LinearWeight.Quantized(Make(format, 2048, Hidden), Make(format, 1024, Hidden), Make(format, 1024, Hidden)),
                        LinearWeight.Quantized(Make(format, Hidden, 2048)),
                        LinearWeight.Quantized(Make(format, Intermediate, Hidden), Make(format, Intermediate, Hidden)),
                        LinearWeight.Quantized(Make(format, Hidden, Intermediate)));
                }
                foreach (var buffer in buffers) bytes += buffer.SizeBytes;
                bytes -= x.SizeBytes + y.SizeBytes;
                double seconds = Time(() =>
                {
                    foreach (var (qkv, o, gateUp, down) in layers)
                    {
                        Linear(backend, qkv, x, y);
                        Linear(backend, o, x, y);
                        Linear(backend, gateUp, x, y);
                        Linear(backend, down, x, y);
                    }
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {format,-5} step linears (no lm_head): {seconds * 1e3,7:F1} ms, {bytes / 1e6,6:F0} MB read, {bytes / seconds / 1e9,5:F1} GB/s ({100 * bytes / seconds / 1e9 / bandwidth:F0}% of read bandwidth)"));
                foreach (var buffer in buffers.Skip(2)) buffer.Dispose();
                buffers.RemoveRange(2, buffers.Count - 2);
            }
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
        return 0;
    }

    private static void Linear(CpuBackend backend, LinearWeight weight, Tensor x, Tensor y) =>
        backend.Linear(new Tensor(x.Data, DType.F32, new Shape(1, weight.InFeatures)), weight,
            new Tensor(y.Data, DType.F32, new Shape(1, weight.OutFeatures)));

    private static double Time(Action action)
    {
        action();
        int calls = 0;
        long start = Stopwatch.GetTimestamp();
        do
        {
            action();
            calls++;
        } while (Stopwatch.GetElapsedTime(start).TotalSeconds < 2);
        return Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
    }
}
