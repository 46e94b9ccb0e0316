using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Engine.Loading;

/// <summary>
/// The one place that turns "--device auto|cpu|cuda" into a backend, for the CLI and the server alike,
/// and sizes the KV cache from GPU memory ("--gpu-memory-utilization", vLLM's meaning).
/// </summary>
public static class BackendFactory
{
    public const double DefaultGpuMemoryUtilization = 0.9;

    /// <summary>
    /// "cuda" opens the first GPU or throws the one-line reason; "cpu" makes a CPU backend with
    /// <paramref name="cpuThreads"/> threads (0: all cores); "auto" tries CUDA and otherwise falls back to the
    /// CPU, returning the reason as <paramref name="warning"/> for the caller to print. <paramref name="progress"/>
    /// hears what takes a while on a GPU's first start (compiling the kernels).
    /// </summary>
    public static IBackend Create(string device, out string? warning, int cpuThreads = 0, Action<string>? progress = null)
    {
        warning = null;
        switch (device.Trim().ToLowerInvariant())
        {
            case "cpu":
                return new CpuBackend(cpuThreads);
            case "cuda":
                return CudaBackend.Create(progress: progress);
            case "auto":
                if (CudaBackend.TryCreate(out var cuda, out string whyNot, progress: progress)) return cuda!;
                warning = whyNot + "; running on the CPU";
                return new CpuBackend(cpuThreads);
            default:
                throw new HearthException($"--device must be auto, cpu or cuda, not '{device}'");
        }
    }

    /// <summary>
    /// For a GPU backend: the bytes left for the KV cache once weights and activations are in place, so that
    /// everything together uses <paramref name="gpuMemoryUtilization"/> of the GPU's memory. Null for the CPU
    /// (its cache is sized by <see cref="EngineOptions.KvCacheBytes"/>'s default). Call it after loading the model.
    /// </summary>
    public static long? KvCacheBudgetBytes(IBackend backend, double gpuMemoryUtilization = DefaultGpuMemoryUtilization)
    {
        if (gpuMemoryUtilization is <= 0 or > 1)
            throw new HearthException($"--gpu-memory-utilization must be in (0, 1], not {gpuMemoryUtilization}");
        if (backend is not CudaBackend cuda) return null;
        var (free, total) = cuda.MemoryInfo();
        return GpuKvBudgetBytes(total, total - free, gpuMemoryUtilization);
    }

    /// <summary>Room left for CUDA graphs and cuBLASLt plans, which are allocated after the cache.</summary>
    public const long GpuReserveBytes = 256L << 20;

    /// <summary>
    /// The KV budget on a GPU of <paramref name="totalBytes"/> with <paramref name="usedBytes"/> taken by the loaded
    /// model: total · utilization − used − <see cref="GpuReserveBytes"/>, or a clear error when nothing is left.
    /// </summary>
    public static long GpuKvBudgetBytes(long totalBytes, long usedBytes, double gpuMemoryUtilization)
    {
        long budget = (long)(totalBytes * gpuMemoryUtilization) - usedBytes - GpuReserveBytes;
        if (budget <= 0)
            throw new HearthException(
                $"no GPU memory is left for the KV cache: {usedBytes >> 20} MiB of {totalBytes >> 20} MiB are in use after loading the model and --gpu-memory-utilization is {gpuMemoryUtilization}");
        return budget;
    }

    /// <summary>
    /// The KV cache size for <paramref name="options"/> on this backend: on a GPU, the smaller of what the
    /// engine would want (MaxNumSeqs requests of the full context) and the memory budget; on the CPU, unchanged.
    /// </summary>
    public static EngineOptions WithKvCacheBudget(EngineOptions options, IBackend backend, Hearth.Core.Config.ModelConfig config,
        double gpuMemoryUtilization = DefaultGpuMemoryUtilization)
    {
        if (options.KvCacheBytes is not null) return options;
        long? budget = KvCacheBudgetBytes(backend, gpuMemoryUtilization);
        if (budget is not { } bytes) return options;
        // The cache's own element type: an fp8 cache holds twice the tokens in the same bytes.
        var kvDType = Cache.KvCacheDTypes.Resolve(options.KvCacheDType, backend);
        return options with { KvCacheBytes = KvCacheBytesWithin(options, config, kvDType, bytes) };
    }

    /// <summary>
    /// The smaller of what the engine would want (MaxNumSeqs requests of the full context, in whole blocks of
    /// <paramref name="kvDType"/>) and <paramref name="budgetBytes"/>; at least one block.
    /// </summary>
    public static long KvCacheBytesWithin(EngineOptions options, Hearth.Core.Config.ModelConfig config, Hearth.Core.DType kvDType, long budgetBytes)
    {
        int maxModelLen = options.MaxModelLen ?? config.MaxPositionEmbeddings;
        long blockBytes = Runner.PagedKvCache.BlockSizeBytes(config, kvDType, options.BlockSize);
        long blocksPerSeq = (maxModelLen + options.BlockSize - 1) / options.BlockSize;
        long wanted = Math.Max(1, options.MaxNumSeqs) * blocksPerSeq * blockBytes;
        return Math.Max(blockBytes, Math.Min(wanted, budgetBytes));
    }
}
