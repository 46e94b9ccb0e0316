using System.Runtime.InteropServices;
using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>One GPU's primary context and the single stream every op of a backend is enqueued on.</summary>
internal sealed unsafe class CudaDevice : IDisposable
{
    [ThreadStatic] private static nint t_currentContext;

    private readonly HashSet<nint> _programmaticFunctions = [];
    private nint _stream;
    private bool _disposed;

    private CudaDevice(int ordinal, int handle, nint context, nint stream)
    {
        Ordinal = ordinal;
        Handle = handle;
        Context = context;
        _stream = stream;
        Name = QueryName(handle);
        ComputeMajor = Attribute(CuDriver.AttributeComputeCapabilityMajor);
        ComputeMinor = Attribute(CuDriver.AttributeComputeCapabilityMinor);
        NumMultiprocessors = Attribute(CuDriver.AttributeMultiprocessorCount);
    }

    public int Ordinal { get; }

    public int Handle { get; }

    public nint Context { get; }

    public nint Stream => _stream;

    public string Name { get; }

    public int ComputeMajor { get; }

    public int ComputeMinor { get; }

    public int NumMultiprocessors { get; }

    public bool IsDisposed => _disposed;

    /// <summary>Programmatic dependent launch (griddepcontrol) exists from sm_90 (Hopper).</summary>
    public bool SupportsProgrammaticLaunch => ComputeMajor >= 9;

    /// <summary>
    /// When set (and supported), kernels marked by <see cref="MarkProgrammatic"/> are launched with programmatic stream
    /// serialization: they may start while the previous kernel drains and wait for it with griddepcontrol.wait.
    /// </summary>
    public bool UseProgrammaticLaunch { get; set; }

    /// <summary>Marks a kernel written for programmatic launch: every block runs griddepcontrol.wait before it reads
    /// anything an earlier kernel wrote, before its first global write, and before it exits.</summary>
    public void MarkProgrammatic(nint function) => _programmaticFunctions.Add(function);

    /// <summary>Loads the driver, initializes it and opens device <paramref name="ordinal"/>; on failure says what is missing.</summary>
    public static bool TryOpen(int ordinal, out CudaDevice? device, out string whyNot)
    {
        device = null;
        if (!NativeLibraries.TryLoad(NativeLibraries.Driver, out whyNot))
        {
            whyNot = $"CUDA is unavailable: {whyNot}; is an NVIDIA driver installed?";
            return false;
        }
        int result = CuDriver.cuInit(0);
        if (result != 0)
        {
            whyNot = result == CuDriver.ErrorNoDevice
                ? "CUDA is unavailable: the NVIDIA driver found no GPU (cuInit: CUDA_ERROR_NO_DEVICE)"
                : "CUDA is unavailable: " + CuDriver.Describe(result, "cuInit");
            return false;
        }
        int count;
        CuDriver.Check(CuDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count)
        {
            whyNot = $"CUDA is unavailable: GPU {ordinal} requested but the driver sees {count}";
            return false;
        }
        int handle;
        CuDriver.Check(CuDriver.cuDeviceGet(&handle, ordinal), "cuDeviceGet");
        nint context, stream;
        CuDriver.Check(CuDriver.cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain");
        try
        {
            CuDriver.Check(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            t_currentContext = context;
            CuDriver.Check(CuDriver.cuStreamCreate(&stream, CuDriver.StreamNonBlocking), "cuStreamCreate");
        }
        catch
        {
            CuDriver.cuDevicePrimaryCtxRelease(handle);
            t_currentContext = 0;
            throw;
        }
        device = new CudaDevice(ordinal, handle, context, stream);
        whyNot = "";
        return true;
    }

    /// <summary>The driver's current context is per thread; ops may arrive on any thread.</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (t_currentContext == Context) return;
        CuDriver.Check(CuDriver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");
        t_currentContext = Context;
    }

    public void Synchronize()
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
    }

    public (long FreeBytes, long TotalBytes) MemoryInfo()
    {
        MakeCurrent();
        nuint free, total;
        CuDriver.Check(CuDriver.cuMemGetInfo(&free, &total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    public void Launch(nint function, uint gridX, uint gridY, uint blockX, uint sharedBytes, void** args) =>
        Launch(function, gridX, gridY, 1, blockX, sharedBytes, args);

    public void Launch(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint sharedBytes, void** args)
    {
        if (gridX == 0 || gridY == 0 || gridZ == 0) return;
        if (UseProgrammaticLaunch && _programmaticFunctions.Contains(function))
        {
            LaunchProgrammatic(function, gridX, gridY, gridZ, blockX, sharedBytes, args);
            return;
        }
        CuDriver.Check(CuDriver.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes, _stream, args, null), "cuLaunchKernel");
    }

    private void LaunchProgrammatic(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint sharedBytes, void** args)
    {
        CuDriver.LaunchAttribute attribute = default;
        attribute.Id = CuDriver.LaunchAttributeProgrammaticStreamSerialization;
        attribute.ValueInt = 1;
        var config = new CuDriver.LaunchConfig
        {
            GridDimX = gridX, GridDimY = gridY, GridDimZ = gridZ,
            BlockDimX = blockX, BlockDimY = 1, BlockDimZ = 1,
            SharedMemBytes = sharedBytes, Stream = _stream, Attributes = &attribute, NumAttributes = 1,
        };
        CuDriver.Check(CuDriver.cuLaunchKernelEx(&config, function, args, null), "cuLaunchKernelEx");
    }

    private int Attribute(int attribute)
    {
        int value;
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(&value, attribute, Handle), "cuDeviceGetAttribute");
        return value;
    }

    private static string QueryName(int handle)
    {
        byte* name = stackalloc byte[256];
        CuDriver.Check(CuDriver.cuDeviceGetName(name, 256, handle), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)name) ?? "unknown GPU";
    }

    public void Dispose()
    {
        if (_disposed) return;
        MakeCurrent();
        CuDriver.cuStreamSynchronize(_stream);
        CuDriver.cuStreamDestroy(_stream);
        _stream = 0;
        _disposed = true;
        CuDriver.cuDevicePrimaryCtxRelease(Handle);
        if (t_currentContext == Context) t_currentContext = 0;
    }
}
