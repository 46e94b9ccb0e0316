using Hearth.Core;

namespace Hearth.Server.Hosting;

/// <summary>What `hearth serve` was asked for, checked before anything is loaded.</summary>
public sealed record ServeSettings
{
    public required string ModelDirectory { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8000;
    public string Device { get; init; } = "auto";
    public string? ServedModelName { get; init; }
    public int? MaxModelLen { get; init; }
    public string? ApiKey { get; init; }
    public int MaxNumSeqs { get; init; } = 64;
    public int MaxQueue { get; init; } = 256;
    /// <summary>vLLM's --gpu-memory-utilization: the share of GPU memory weights, activations and KV cache may use.</summary>
    public double GpuMemoryUtilization { get; init; } = Hearth.Engine.Loading.BackendFactory.DefaultGpuMemoryUtilization;
    /// <summary>vLLM's --kv-cache-dtype: auto, bf16 or fp8 (e4m3, scale 1.0).</summary>
    public string KvCacheDType { get; init; } = "auto";

    /// <summary>The model folder's own name unless one was given (trailing separators ignored).</summary>
    public string ResolvedModelName => !string.IsNullOrWhiteSpace(ServedModelName)
        ? ServedModelName
        : File.Exists(ModelDirectory) && ModelDirectory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
            ? Path.GetFileNameWithoutExtension(ModelDirectory)
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(ModelDirectory)));

    /// <summary>"http://host:port", with IPv6 hosts bracketed.</summary>
    public string Url => Host.Contains(':', StringComparison.Ordinal) && !Host.StartsWith('[') ? $"http://[{Host}]:{Port}" : $"http://{Host}:{Port}";

    public void Validate()
    {
        if (!Directory.Exists(ModelDirectory) && !File.Exists(ModelDirectory)) throw new HearthException($"model folder not found: {ModelDirectory}");
        if (Port is < 0 or > 65535) throw new HearthException($"--port must be in [0, 65535], got {Port}");
        if (string.IsNullOrWhiteSpace(Host)) throw new HearthException("--host must not be empty");
        if (MaxModelLen is < 2) throw new HearthException($"--max-model-len must be at least 2, got {MaxModelLen}");
        if (MaxNumSeqs < 1) throw new HearthException($"--max-num-seqs must be at least 1, got {MaxNumSeqs}");
        if (MaxQueue < 0) throw new HearthException($"--max-queue must be at least 0, got {MaxQueue}");
        if (ApiKey is { Length: 0 }) throw new HearthException("--api-key must not be empty");
        if (Device.Trim().ToLowerInvariant() is not ("auto" or "cpu" or "cuda"))
            throw new HearthException($"--device must be auto, cpu or cuda, got '{Device}'");
        if (GpuMemoryUtilization is <= 0 or > 1)
            throw new HearthException($"--gpu-memory-utilization must be in (0, 1], got {GpuMemoryUtilization}");
        Hearth.Engine.Cache.KvCacheDTypes.Parse(KvCacheDType);
    }
}
