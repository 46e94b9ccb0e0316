using System.Buffers;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Uploading quantized matrices: each is repacked on the host (in parallel, slab by slab: a 14B model has 13 B
// weights) into the row-major layout of CudaQuantLayout and then into the tensor-core tiles of CudaQuantTiles.
public sealed unsafe partial class CudaBackend
{
    /// <summary>
    /// Dense parts become BF16; Int4Group, Fp8Block and the GGUF formats are repacked into their GPU layout. The
    /// returned matrix is a handle: its tensors point into the GPU copy, which is not in the host format.
    /// </summary>
    public QuantizedMatrix UploadQuantized(QuantizedMatrix host)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (host.Format == WeightFormat.Dense) return host.WithTensors(UploadWeight);
        if (CudaQuantTiles.Unsupported(host) is { } why) throw new HearthException(why);
        var family = CudaQuantLayout.FamilyOf(host.Format, UseCompactQ6K, UseCompactQ4K)!.Value;
        int group = CudaQuantLayout.GroupSize(host);
        return family switch
        {
            CudaQuantFamily.F8 => UploadFp8(host),
            CudaQuantFamily.G6 => UploadG6(host),
            CudaQuantFamily.K4 => UploadK4(host),   // CudaBackend.Q4Compact.cs
            _ => UploadPacked(host, family, group),
        };
    }

    private QuantizedMatrix UploadFp8(QuantizedMatrix host)
    {
        var (dataPtr, dataBytes) = UploadTiles(host, CudaQuantFamily.F8, 0, 0, host.Data.SizeBytes);
        var scales = UploadWeight32(host.Scales!.Value);
        int scaleColumns = host.Scales!.Value.Shape[1];
        Register(new CudaQuantPart(CudaQuantFamily.F8, host.Format, host.OutFeatures, host.InFeatures, dataPtr, scales.Data,
            host.GroupSize, host.BlockRows, scaleColumns, 0, dataBytes + scales.SizeBytes));
        var data = new Tensor(dataPtr, DType.F8E4M3, new Shape(host.OutFeatures, host.InFeatures));
        return QuantizedMatrix.Fp8Block(host.OutFeatures, host.InFeatures, host.BlockRows, host.GroupSize, data, scales);
    }

    private QuantizedMatrix UploadPacked(QuantizedMatrix host, CudaQuantFamily family, int group)
    {
        int outFeatures = host.OutFeatures, k = host.InFeatures;
        int paramsPerRow = CudaQuantLayout.ParamsPerRow(host);
        var (dataPtr, totalBytes) = UploadTiles(host, family, group, paramsPerRow, host.Data.SizeBytes);
        nint paramsPtr = dataPtr + (nint)ParamsOffset(family, host);

        nint permutation = 0;
        Tensor? permutationTensor = null;
        if (host.InputPermutation is { } perm)
        {
            permutationTensor = UploadWeight(perm);
            permutation = permutationTensor.Value.Data;
            totalBytes += perm.SizeBytes;
        }
        Register(new CudaQuantPart(family, host.Format, outFeatures, k, dataPtr, paramsPtr, group, 1, 0, permutation, totalBytes));
        if (host.Format == WeightFormat.Int4Group)
        {
            // Params are half2 pairs, one 4-byte value per group: the shape of the F32 scales the handle must carry.
            var data = new Tensor(dataPtr, DType.U8, new Shape(outFeatures, k / 2));
            var scales = new Tensor(paramsPtr, DType.F32, new Shape(outFeatures, paramsPerRow));
            return QuantizedMatrix.Int4Group(outFeatures, k, group, data, scales, null, permutationTensor);
        }
        return QuantizedMatrix.Gguf(host.Format, outFeatures, k, new Tensor(dataPtr, DType.U8, host.Data.Shape));
    }

    private static long ParamsOffset(CudaQuantFamily family, QuantizedMatrix host)
    {
        long dataBytes = CudaQuantTiles.TileBytes(family, host.InFeatures) * (CudaQuantTiles.PaddedRows(host.OutFeatures) / CudaQuantTiles.TileRows);
        return (dataBytes + 255) / 256 * 256;
    }

    /// <summary>
    /// Allocates one buffer (tiles, then G4/G8 params) and fills it tile by tile. Returns its address and size; the
    /// size is at least <paramref name="minBytes"/> because the handle's data tensor spans the host format's size.
    /// </summary>
    private (nint Data, long SizeBytes) UploadTiles(QuantizedMatrix host, CudaQuantFamily family, int group, int paramsPerRow, long minBytes)
    {
        int outFeatures = host.OutFeatures, k = host.InFeatures;
        int numTiles = CudaQuantTiles.PaddedRows(outFeatures) / CudaQuantTiles.TileRows;
        long tileBytes = CudaQuantTiles.TileBytes(family, k), paramsOffset = ParamsOffset(family, host);
        int tileParams = paramsPerRow * CudaQuantTiles.TileRows;
        long totalBytes = Math.Max(minBytes, paramsOffset + (long)numTiles * tileParams * sizeof(uint));
        var buffer = CudaBuffer.Allocate(_device, totalBytes);
        _weights.Add(buffer);
        nint dataPtr = buffer.Data, paramsPtr = buffer.Data + (nint)paramsOffset;

        int slabTiles = (int)Math.Clamp((16L << 20) / tileBytes, 1, numTiles);
        var slabData = new byte[slabTiles * tileBytes];
        var slabParams = new uint[slabTiles * tileParams];
        int rowMajorBytes = (int)CudaQuantLayout.DataRowBytes(family, k) * CudaQuantTiles.TileRows;
        for (int start = 0; start < numTiles; start += slabTiles)
        {
            int count = Math.Min(slabTiles, numTiles - start);
            Parallel.For(0, count, i =>
            {
                int row0 = (start + i) * CudaQuantTiles.TileRows, rows = Math.Min(CudaQuantTiles.TileRows, outFeatures - row0);
                var tile = slabData.AsSpan((int)(i * tileBytes), (int)tileBytes);
                if (family == CudaQuantFamily.F8)
                {
                    var source = new ReadOnlySpan<byte>((byte*)host.Data.Data + (long)row0 * k, rows * k);
                    CudaQuantTiles.Interleave(family, k, rows, source, tile);
                    return;
                }
                byte[] rowMajor = ArrayPool<byte>.Shared.Rent(rowMajorBytes);
                uint[] rowParams = ArrayPool<uint>.Shared.Rent(tileParams);
                CudaQuantLayout.PackRows(host, row0, rows, rowMajor.AsSpan(0, rowMajorBytes), rowParams.AsSpan(0, tileParams));
                CudaQuantTiles.Interleave(family, k, rows, rowMajor, tile);
                CudaQuantTiles.InterleaveParams(paramsPerRow, rows, rowParams, slabParams.AsSpan(i * tileParams, tileParams));
                ArrayPool<byte>.Shared.Return(rowMajor);
                ArrayPool<uint>.Shared.Return(rowParams);
            });
            fixed (byte* d = slabData) CopyBytesToDevice(d, dataPtr + (nint)(start * tileBytes), count * tileBytes);
            if (family != CudaQuantFamily.F8)
                fixed (uint* p = slabParams) CopyBytesToDevice(p, paramsPtr + (nint)((long)start * tileParams * sizeof(uint)), (long)count * tileParams * sizeof(uint));
            _device.Synchronize();
        }
        return (dataPtr, totalBytes);
    }

    private Tensor UploadWeight32(Tensor host)
    {
        // Scales stay F32: UploadWeight would make them BF16.
        var buffer = CudaBuffer.Allocate(_device, host.NumElements * sizeof(float));
        _weights.Add(buffer);
        var device = buffer.AsTensor(DType.F32, host.Shape);
        if (host.DType == DType.F32) CopyBytesToDevice((void*)host.Data, device.Data, host.SizeBytes);
        else
        {
            var staging = new float[host.NumElements];
            for (long i = 0; i < staging.Length; i++)
                staging[i] = host.DType == DType.BF16 ? BFloat16Bits.ToSingle(((ushort*)host.Data)[i]) : (float)((Half*)host.Data)[i];
            fixed (float* s = staging) CopyBytesToDevice(s, device.Data, host.NumElements * sizeof(float));
            _device.Synchronize();
        }
        return device;
    }
}
