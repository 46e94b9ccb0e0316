using System.Runtime.InteropServices;
using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// The CUDA backend: BF16 activations and KV cache, every op enqueued on one stream of one GPU, kernels
/// compiled by NVRTC for the GPU's exact architecture (cached on disk) and linear layers through cuBLASLt.
/// Weights uploaded through <see cref="UploadWeight"/> belong to the backend and are freed by Dispose.
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend
{
    private static readonly string[] ModuleFiles = ["elementwise.cu", "norm.cu", "attention.cu", "gemv.cu", "decode_attention.cu", "flash_attention.cu", "gemv_quant.cu", "gemv_quant_stream.cu", "gemv_quant_dequant.cu", "decode_fused.cu", "decode_mma.cu", "decode_mma_pipe.cu", "sampling.cu"];

    private readonly CudaDevice _device;
    private readonly List<nint> _modules = [];
    private readonly List<CudaBuffer> _weights = [];
    private readonly CublasLtGemm _gemm;
    private readonly KernelCompiler _compiler;
    private readonly Dictionary<string, nint> _functions = new(StringComparer.Ordinal);
    private bool _disposed;

    private CudaBackend(CudaDevice device, Action<string>? progress)
    {
        _device = device;
        _compiler = new KernelCompiler(device.ComputeMajor, device.ComputeMinor);
        // The quantized GEMM's modules are loaded on first use but compiled with the rest.
        _compiler.Prepare([.. ModuleFiles, QuantGemmModule, Fp8ActivationModule, QuantWideModule, KQuant6Module], progress);
        foreach (var file in ModuleFiles) LoadModule(file);
        _gemm = new CublasLtGemm(device);
        LoadFunctions();
        LoadFastFunctions();
        LoadArgMaxFunctions();
        LoadQuantFunctions();
        LoadRopeFusionFunctions();
        LoadProgrammaticLaunchKernels();
    }

    public string Name => "cuda";

    public DType ActivationDType => DType.BF16;

    /// <summary>The GPU's name as the driver reports it, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string DeviceName => _device.Name;

    /// <summary>"sm_90" for an H100: the architecture the kernels are compiled for.</summary>
    public string Architecture => _compiler.Architecture;

    public string NvrtcVersion => _compiler.NvrtcVersion;

    public string CublasLtVersion => CublasLtGemm.Version;

    /// <summary>Kernel modules NVRTC compiled at this start (0 when every module came from the disk cache).</summary>
    public int NumKernelModulesCompiled => _compiler.NumCompiled;

    public int NumKernelModulesFromCache => _compiler.NumLoadedFromCache;

    /// <summary>Where compiled kernels are cached, or null when no cache directory could be made.</summary>
    public string? KernelCacheDirectory => _compiler.CachePath;

    public (long FreeBytes, long TotalBytes) MemoryInfo() => _device.MemoryInfo();

    /// <summary>
    /// Opens GPU <paramref name="deviceOrdinal"/>, or says in one line why not (no driver, no GPU, no NVRTC or
    /// cuBLASLt, a kernel that did not compile), so that "--device auto" can fall back to the CPU.
    /// </summary>
    public static bool TryCreate(out CudaBackend? backend, out string whyNot, int deviceOrdinal = 0, Action<string>? progress = null)
    {
        backend = null;
        CudaDevice? device = null;
        try
        {
            if (!CudaDevice.TryOpen(deviceOrdinal, out device, out whyNot)) return false;
            if (!NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out string missing)
                || !NativeLibraries.TryLoad(NativeLibraries.CublasLt, out missing))
            {
                whyNot = $"CUDA is unavailable: {missing}; install the CUDA toolkit or add its lib64 to LD_LIBRARY_PATH";
                device!.Dispose();
                return false;
            }
            backend = new CudaBackend(device!, progress);
            return true;
        }
        catch (Exception e) when (e is HearthException or DllNotFoundException or EntryPointNotFoundException)
        {
            device?.Dispose();
            whyNot = e is HearthException ? "CUDA is unavailable: " + e.Message : $"CUDA is unavailable: {e.GetType().Name}: {e.Message.Split('\n')[0]}";
            return false;
        }
    }

    /// <summary>Like <see cref="TryCreate"/> but throws a <see cref="HearthException"/> with the reason.</summary>
    public static CudaBackend Create(int deviceOrdinal = 0, Action<string>? progress = null) =>
        TryCreate(out var backend, out string whyNot, deviceOrdinal, progress) ? backend! : throw new HearthException(whyNot);

    public DeviceBuffer Allocate(long sizeBytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return CudaBuffer.Allocate(_device, sizeBytes);
    }

    /// <summary>Called with each weight's size in bytes once it is on its way to the GPU (load progress).</summary>
    public event Action<long>? UploadObserver;

    /// <summary>Float weights (BF16, F16, F32) become BF16 on the GPU; integer tensors are copied unchanged.</summary>
    public Tensor UploadWeight(Tensor host)
    {
        var uploaded = Upload(host);
        UploadObserver?.Invoke(uploaded.SizeBytes);
        return uploaded;
    }

    /// <summary>
    /// The parts of a fused projection in one allocation, back to back in part order, so that
    /// <see cref="Linear"/> runs one GEMM over all of them (three GEMMs for q|k|v at 32 rows streamed their
    /// weights at 1.9 TB/s; k and v alone are too small to fill the GPU).
    /// </summary>
    public Tensor[] UploadFusedWeight(IReadOnlyList<Tensor> hostParts)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (hostParts.Count == 0) return [];
        if (!FuseUploads) return hostParts.Select(UploadWeight).ToArray();
        var deviceType = DeviceTypeOf(hostParts[0].DType);
        foreach (var part in hostParts)
            if (DeviceTypeOf(part.DType) != deviceType || part.Shape.Rank != 2 || part.Shape[1] != hostParts[0].Shape[1])
                return hostParts.Select(UploadWeight).ToArray();
        long totalBytes = hostParts.Sum(p => p.NumElements * deviceType.ElementSizeBytes());
        var buffer = CudaBuffer.Allocate(_device, totalBytes);
        _weights.Add(buffer);
        var parts = new Tensor[hostParts.Count];
        nint at = buffer.Data;
        for (int p = 0; p < parts.Length; p++)
        {
            parts[p] = new Tensor(at, deviceType, hostParts[p].Shape);
            CopyConverted(hostParts[p], parts[p]);
            UploadObserver?.Invoke(parts[p].SizeBytes);
            at += (nint)parts[p].SizeBytes;
        }
        return parts;
    }

    /// <summary>Upload fused projections into one allocation (HEARTH_CUDA_FUSED_UPLOAD=0: one per part, for A/B runs).</summary>
    private static bool FuseUploads => Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSED_UPLOAD") != "0";

    private static DType DeviceTypeOf(DType host) => host is DType.BF16 or DType.F16 or DType.F32 ? DType.BF16 : host;

    private Tensor Upload(Tensor host)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var buffer = CudaBuffer.Allocate(_device, host.NumElements * DeviceTypeOf(host.DType).ElementSizeBytes());
        _weights.Add(buffer);
        var device = buffer.AsTensor(DeviceTypeOf(host.DType), host.Shape);
        CopyConverted(host, device);
        return device;
    }

    /// <summary>Copies <paramref name="host"/> into <paramref name="device"/> (allocated with <see cref="DeviceTypeOf"/>).</summary>
    private void CopyConverted(Tensor host, Tensor device)
    {
        bool isFloat = host.DType is DType.BF16 or DType.F16 or DType.F32;
        if (!isFloat || host.DType == DType.BF16)
        {
            CopyBytesToDevice((void*)host.Data, device.Data, host.SizeBytes);
            return;
        }
        // Converted on the host in chunks so that a large F32 tensor never needs a second full-size copy.
        const int ChunkElements = 1 << 22;
        var staging = new ushort[(int)Math.Min(ChunkElements, host.NumElements)];
        for (long start = 0; start < host.NumElements; start += ChunkElements)
        {
            int count = (int)Math.Min(ChunkElements, host.NumElements - start);
            if (host.DType == DType.F32)
            {
                var source = new ReadOnlySpan<float>((float*)host.Data + start, count);
                for (int i = 0; i < count; i++) staging[i] = BFloat16Bits.FromSingle(source[i]);
            }
            else
            {
                var source = new ReadOnlySpan<Half>((Half*)host.Data + start, count);
                for (int i = 0; i < count; i++) staging[i] = BFloat16Bits.FromSingle((float)source[i]);
            }
            fixed (ushort* stagingPtr = staging) CopyBytesToDevice(stagingPtr, device.Data + (nint)(start * 2), count * 2L);
            // The staging array is reused by the next chunk: pageable copies return once the source was consumed.
        }
    }

    public void CopyToDevice<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        long bytes = (long)source.Length * sizeof(T);
        if (bytes > destination.SizeBytes) throw new ArgumentException($"{bytes} bytes do not fit {destination}");
        fixed (T* sourcePtr = source) CopyBytesToDevice(sourcePtr, destination.Data, bytes);
    }

    public void CopyToHost<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        long bytes = (long)destination.Length * sizeof(T);
        if (bytes > source.SizeBytes) throw new ArgumentException($"{source} holds fewer than {bytes} bytes");
        _device.Synchronize();
        fixed (T* destinationPtr = destination)
        {
            if (bytes > 0)
                CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(destinationPtr, source.Data, (nuint)bytes, _device.Stream), "cuMemcpyDtoHAsync_v2");
            _device.Synchronize();
        }
    }

    /// <summary>Copies between two device tensors on the backend's stream.</summary>
    public void CopyDeviceToDevice(Tensor source, Tensor destination)
    {
        if (source.SizeBytes > destination.SizeBytes) throw new ArgumentException($"{source} does not fit {destination}");
        _device.MakeCurrent();
        if (source.SizeBytes > 0)
            CuDriver.Check(CuDriver.cuMemcpyDtoDAsync(destination.Data, source.Data, (nuint)source.SizeBytes, _device.Stream), "cuMemcpyDtoDAsync_v2");
    }

    public void Synchronize()
    {
        _device.Synchronize();
    }

    private void CopyBytesToDevice(void* source, nint destination, long bytes)
    {
        _device.MakeCurrent();
        if (bytes == 0) return;
        // From pageable memory the call returns once the source has been staged, so the caller may reuse it.
        CuDriver.Check(CuDriver.cuMemcpyHtoDAsync(destination, source, (nuint)bytes, _device.Stream), "cuMemcpyHtoDAsync_v2");
    }

    private void LoadModule(string file)
    {
        byte[] cubin = _compiler.GetCubin(file);
        nint module;
        int result;
        fixed (byte* image = cubin) result = CuDriver.cuModuleLoadData(&module, image);
        if (result != 0)
        {
            // A damaged or foreign cache entry must not disable the GPU: compile afresh once.
            cubin = _compiler.GetCubin(file, bypassCache: true);
            fixed (byte* image = cubin) CuDriver.Check(CuDriver.cuModuleLoadData(&module, image), $"cuModuleLoadData({file})");
        }
        _modules.Add(module);
    }

    private nint Function(string name)
    {
        if (_functions.TryGetValue(name, out nint function)) return function;
        byte[] nameBytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* namePtr = nameBytes)
        {
            foreach (nint module in _modules)
            {
                if (CuDriver.cuModuleGetFunction(&function, module, namePtr) == 0)
                {
                    _functions[name] = function;
                    return function;
                }
            }
        }
        throw new HearthException($"cuModuleGetFunction failed: kernel {name} is in none of the compiled modules");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _device.MakeCurrent();
        CuDriver.cuStreamSynchronize(_device.Stream);
        foreach (var weight in _weights) weight.Dispose();
        _weights.Clear();
        _decodeWorkspace?.Dispose();
        _argMaxWorkspace?.Dispose();
        _fusedWorkspace?.Dispose();
        DisposeQuant();
        _gemm.Dispose();
        foreach (nint module in _modules) CuDriver.cuModuleUnload(module);
        _modules.Clear();
        _device.Dispose();
    }
}
