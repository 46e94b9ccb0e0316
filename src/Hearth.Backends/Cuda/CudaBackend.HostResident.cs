using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// A weight kept in page-locked host memory that kernels read over PCIe: the input token-embedding table, of which a
// step touches only the looked-up rows (hidden·2 bytes a token), as llama.cpp keeps token_embd on the host. An
// untied Qwen3-14B table is 1.56 GB of GPU memory saved; the lookup stays one kernel, so graphs capture it.
public sealed unsafe partial class CudaBackend
{
    private readonly List<nint> _hostResident = [];
    private long _hostResidentBytes;

    /// <summary>Bytes of weights kept in page-locked host memory (<see cref="UploadHostResident"/>).</summary>
    public long HostResidentBytes => _hostResidentBytes;

    /// <summary>
    /// Like <see cref="UploadWeight"/> (float tensors become BF16) but into page-locked host memory mapped into the
    /// GPU's address space, for tables read a few rows at a time (the token embedding).
    /// </summary>
    public Tensor UploadHostResident(Tensor host)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (host.DType is not (DType.BF16 or DType.F16 or DType.F32)) throw new ArgumentException($"host-resident tables are float, not {host.DType}");
        _device.MakeCurrent();
        long bytes = host.NumElements * 2;
        void* pinned;
        CuDriver.Check(CuDriver.cuMemHostAlloc(&pinned, (nuint)bytes, CuDriver.MemHostAllocDeviceMap | CuDriver.MemHostAllocPortable), "cuMemHostAlloc");
        _hostResident.Add((nint)pinned);
        _hostResidentBytes += bytes;
        var destination = new Span<ushort>(pinned, checked((int)host.NumElements));
        if (host.DType == DType.BF16) new ReadOnlySpan<ushort>((void*)host.Data, destination.Length).CopyTo(destination);
        else if (host.DType == DType.F32)
        {
            var source = new ReadOnlySpan<float>((void*)host.Data, destination.Length);
            for (int i = 0; i < source.Length; i++) destination[i] = BFloat16Bits.FromSingle(source[i]);
        }
        else
        {
            var source = new ReadOnlySpan<Half>((void*)host.Data, destination.Length);
            for (int i = 0; i < source.Length; i++) destination[i] = BFloat16Bits.FromSingle((float)source[i]);
        }
        nint devicePointer;
        CuDriver.Check(CuDriver.cuMemHostGetDevicePointer(&devicePointer, pinned, 0), "cuMemHostGetDevicePointer_v2");
        return new Tensor(devicePointer, DType.BF16, host.Shape);
    }

    private void FreeHostResident()
    {
        foreach (nint pointer in _hostResident) CuDriver.cuMemFreeHost((void*)pointer);
        _hostResident.Clear();
        _hostResidentBytes = 0;
    }
}
