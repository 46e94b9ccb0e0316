using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Engine.Loading;

namespace Hearth.Cli;

/// <summary>--device and --gpu-memory-utilization, shared by the commands that run a model.</summary>
internal sealed class DeviceOptions
{
    public Option<string> Device { get; } = new("--device")
    {
        Description = "auto (CUDA when a GPU is usable, else the CPU with a warning), cpu or cuda",
        DefaultValueFactory = _ => "auto",
    };

    public Option<double> GpuMemoryUtilization { get; } = new("--gpu-memory-utilization")
    {
        Description = "Fraction of GPU memory for weights, activations and the KV cache",
        DefaultValueFactory = _ => BackendFactory.DefaultGpuMemoryUtilization,
    };

    public Option<string> KvCacheDType { get; } = new("--kv-cache-dtype")
    {
        Description = "KV cache element type: auto (the device's activation type), bf16 or fp8 (e4m3, scale 1.0: half the memory per token)",
        DefaultValueFactory = _ => "auto",
    };

    public IEnumerable<Option> All => [Device, GpuMemoryUtilization, KvCacheDType];

    /// <summary>The parsed --kv-cache-dtype (null: auto), or a one-line error.</summary>
    public Hearth.Core.DType? KvCacheDTypeOf(ParseResult parse) => Hearth.Engine.Cache.KvCacheDTypes.Parse(parse.GetValue(KvCacheDType));

    /// <summary>Makes the backend; the auto fallback's reason goes to stderr as a warning.</summary>
    public IBackend CreateBackend(ParseResult parse, int cpuThreads)
    {
        double utilization = parse.GetValue(GpuMemoryUtilization);
        if (utilization is <= 0 or > 1) throw new Hearth.Core.HearthException($"--gpu-memory-utilization must be in (0, 1], not {utilization}");
        var backend = BackendFactory.Create(parse.GetValue(Device)!, out string? warning, cpuThreads, Console.Error.WriteLine);
        if (warning is not null) Console.Error.WriteLine("warning: " + warning);
        return backend;
    }

    /// <summary>
    /// What the whole KV budget would hold (before capping to the requests' needs): "KV budget: N tokens (X GiB, dtype)
    /// = max context Y at batch 1 ..."; on the CPU, that its cache is sized from host memory.
    /// </summary>
    public static string DescribeKvBudget(IBackend backend, Hearth.Core.Config.ModelConfig config, Hearth.Engine.EngineOptions options, double utilization)
    {
        if (BackendFactory.KvCacheBudgetBytes(backend, utilization) is not { } budget) return "KV budget: host memory (CPU backend)";
        var dtype = Hearth.Engine.Cache.KvCacheDTypes.Resolve(options.KvCacheDType, backend);
        var plan = Hearth.Engine.Cache.KvCachePlan.ForBudget(config, dtype, options.BlockSize, budget, config.MaxPositionEmbeddings);
        return "KV budget: " + plan.Describe()[10..] + string.Create(CultureInfo.InvariantCulture, $" (all free memory at --gpu-memory-utilization {utilization})");
    }

    /// <summary>
    /// Loads the model; on a GPU, ModelLoader reports the upload's progress on stderr, then the time and the GPU
    /// memory in use (LoadProgress).
    /// </summary>
    public static LoadedModel Load(string directory, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        if (backend is CudaBackend cuda)
            Console.Error.WriteLine($"loading {Path.GetFileName(Path.GetFullPath(directory))} onto {cuda.DeviceName} ...");
        var loaded = ModelLoader.Load(directory, backend, maxTokensPerStep, maxLogitRows);
        if (backend is CudaBackend gpu)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model weights on the GPU: {gpu.DeviceWeightBytes / 1e9:F2} GB ({gpu.DeviceWeightBytes / 1073741824.0:F2} GiB), of which quantized {gpu.QuantizedWeightBytes / 1e9:F2} GB; in pinned host memory: {gpu.HostResidentBytes / 1e9:F2} GB"));
        }
        return loaded;
    }
}
