using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Engine.Cache;

/// <summary>
/// "--kv-cache-dtype auto|bf16|fp8" (vLLM's option): the element type of the paged KV cache. auto is the
/// backend's activation type (bf16 on a GPU, f32 on the CPU); fp8 is float8_e4m3fn with a per-tensor scale
/// of 1.0, as vLLM uses for e4m3 without calibration (e4m3 keeps 3 mantissa bits over ±448; keys pass through
/// Qwen3's k_norm and values are typically far inside that range; larger values saturate), halving the bytes per token.
/// </summary>
public static class KvCacheDTypes
{
    /// <summary>The option's values, for help texts.</summary>
    public const string Choices = "auto, bf16 or fp8";

    /// <summary>Null for "auto", else the requested element type; a one-line error for anything else.</summary>
    public static DType? Parse(string? value) => (value ?? "auto").Trim().ToLowerInvariant() switch
    {
        "auto" or "" => null,
        "bf16" or "bfloat16" => DType.BF16,
        "fp8" or "fp8_e4m3" or "float8_e4m3fn" => DType.F8E4M3,
        _ => throw new HearthException($"--kv-cache-dtype must be {Choices}, not '{value}'"),
    };

    /// <summary>The element type a cache on <paramref name="backend"/> gets for the request (null: auto).</summary>
    public static DType Resolve(DType? requested, IBackend backend)
    {
        DType dtype = requested ?? backend.ActivationDType;
        bool supported = backend is CudaBackend ? dtype is DType.BF16 or DType.F8E4M3 : dtype is DType.F32 or DType.BF16 or DType.F8E4M3;
        if (!supported) throw new HearthException($"a {Name(dtype)} KV cache is not supported on this backend; use --kv-cache-dtype {Choices}");
        return dtype;
    }

    /// <summary>The name a user reads in messages: bf16, fp8 (e4m3), f32.</summary>
    public static string Name(DType dtype) => dtype switch
    {
        DType.BF16 => "bf16",
        DType.F8E4M3 => "fp8_e4m3",
        DType.F32 => "f32",
        _ => dtype.ToString().ToLowerInvariant(),
    };
}
