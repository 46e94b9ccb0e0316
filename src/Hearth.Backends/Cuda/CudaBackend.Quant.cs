using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Quantized weights: upload into the GPU layouts of CudaQuantLayout, the batch 1-16 GEMV (gemv_quant.cu), and for
// larger batches the dequantize-a-tile-to-bf16-then-cuBLASLt path. Parts are found from the QuantizedMatrix the
// upload returned by its data pointer.
public sealed unsafe partial class CudaBackend
{
    /// <summary>Batches up to this many rows run the quantized GEMV; larger ones dequantize tiles for cuBLASLt.</summary>
    public const int QuantGemvMaxRows = 16;

    private const uint QuantGemvWarps = 8;
    private const long DequantScratchBytes = 128L << 20;

    private readonly Dictionary<nint, CudaQuantPart> _quantParts = [];
    private readonly Dictionary<CudaQuantFamily, (nint Gemv, nint Dequant)> _quantKernels = [];
    private nint _permuteColumns;
    private CudaBuffer? _dequantScratch, _permutedInput;
    private long _quantWeightBytes;

    /// <summary>Device bytes held by uploaded quantized matrices (in their GPU layouts).</summary>
    public long QuantizedWeightBytes => _quantWeightBytes;

    /// <summary>Device bytes of every uploaded weight, dense and quantized (not activations, scratch or KV cache).</summary>
    public long DeviceWeightBytes
    {
        get
        {
            long total = 0;
            foreach (var buffer in _weights) total += buffer.SizeBytes;
            return total;
        }
    }

    /// <summary>Run batches of 1-16 rows through the quantized GEMV (HEARTH_CUDA_QUANT_GEMV=0: always dequantize + cuBLASLt).</summary>
    public bool UseQuantGemv { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_QUANT_GEMV") != "0";

    private void LoadQuantFunctions()
    {
        _quantKernels[CudaQuantFamily.G4] = (Function("gemv_g4"), Function("dequant_g4_bf16"));
        _quantKernels[CudaQuantFamily.G8] = (Function("gemv_g8"), Function("dequant_g8_bf16"));
        _quantKernels[CudaQuantFamily.F8] = (Function("gemv_f8"), Function("dequant_f8_bf16"));
        _permuteColumns = Function("permute_columns_bf16");
    }

    /// <summary>
    /// Dense parts become BF16; Int4Group, Fp8Block and the GGUF formats are repacked into their GPU layout. The
    /// returned matrix is a handle: its tensors point into the GPU copy, which is not in the host format.
    /// </summary>
    public QuantizedMatrix UploadQuantized(QuantizedMatrix host)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (host.Format == WeightFormat.Dense) return host.WithTensors(UploadWeight);
        var family = CudaQuantLayout.FamilyOf(host.Format)
            ?? throw new HearthException($"the CUDA backend cannot run {host.Format} weights; use --device cpu for this model");
        int group = CudaQuantLayout.GroupSize(host), chunk = CudaQuantLayout.ChunkElements(family);
        if (host.InFeatures % chunk != 0 || group % chunk != 0)
            throw new HearthException($"the CUDA backend needs {host.Format} rows and groups in multiples of {chunk} weights, got {host.InFeatures} inputs, group {group}");
        return family == CudaQuantFamily.F8 ? UploadFp8(host) : UploadPacked(host, family, group);
    }

    private QuantizedMatrix UploadFp8(QuantizedMatrix host)
    {
        var data = UploadWeight(host.Data);
        var scales = UploadWeight32(host.Scales!.Value);
        int scaleColumns = host.Scales!.Value.Shape[1];
        long bytes = data.SizeBytes + scales.SizeBytes;
        Register(new CudaQuantPart(CudaQuantFamily.F8, host.Format, host.OutFeatures, host.InFeatures, data.Data, scales.Data,
            host.GroupSize, host.BlockRows, scaleColumns, 0, bytes));
        return QuantizedMatrix.Fp8Block(host.OutFeatures, host.InFeatures, host.BlockRows, host.GroupSize, data, scales);
    }

    private QuantizedMatrix UploadPacked(QuantizedMatrix host, CudaQuantFamily family, int group)
    {
        int outFeatures = host.OutFeatures, k = host.InFeatures;
        long rowBytes = CudaQuantLayout.DataRowBytes(family, k);
        int paramsPerRow = CudaQuantLayout.ParamsPerRow(host);
        long dataBytes = rowBytes * outFeatures, paramsOffset = (dataBytes + 255) / 256 * 256;
        long totalBytes = paramsOffset + (long)paramsPerRow * outFeatures * sizeof(uint);
        // The handle's data tensor spans the host format's size; the GPU layout is never smaller (checked here).
        if (totalBytes < host.Data.SizeBytes) totalBytes = host.Data.SizeBytes;
        var buffer = CudaBuffer.Allocate(_device, totalBytes);
        _weights.Add(buffer);
        nint dataPtr = buffer.Data, paramsPtr = buffer.Data + (nint)paramsOffset;

        // Repacked on the host in slabs of rows (in parallel: a 14B model has 13 B weights), copied slab by slab.
        int slabRows = (int)Math.Clamp((16L << 20) / Math.Max(1, rowBytes), 1, outFeatures);
        var slabData = new byte[slabRows * rowBytes];
        var slabParams = new uint[slabRows * paramsPerRow];
        const int RowsPerTask = 16;
        for (int start = 0; start < outFeatures; start += slabRows)
        {
            int count = Math.Min(slabRows, outFeatures - start);
            Parallel.For(0, (count + RowsPerTask - 1) / RowsPerTask, t =>
            {
                int r0 = t * RowsPerTask, n = Math.Min(RowsPerTask, count - r0);
                CudaQuantLayout.PackRows(host, start + r0, n, slabData.AsSpan((int)(r0 * rowBytes), (int)(n * rowBytes)),
                    slabParams.AsSpan(r0 * paramsPerRow, n * paramsPerRow));
            });
            fixed (byte* d = slabData) CopyBytesToDevice(d, dataPtr + (nint)(start * rowBytes), count * rowBytes);
            fixed (uint* p = slabParams) CopyBytesToDevice(p, paramsPtr + (nint)((long)start * paramsPerRow * sizeof(uint)), (long)count * paramsPerRow * sizeof(uint));
            _device.Synchronize();
        }

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

    private void Register(CudaQuantPart part)
    {
        _quantParts[part.Data] = part;
        _quantWeightBytes += part.SizeBytes;
    }

    private CudaQuantPart PartOf(QuantizedMatrix matrix) =>
        _quantParts.TryGetValue(matrix.Data.Data, out var part) ? part
            : throw new ArgumentException($"{matrix} was not uploaded by this CUDA backend's UploadQuantized");

    /// <summary>output[t] = dequantized row tokenIds[t] of a quantized table (GGUF token_embd). output [tokens, hidden] BF16.</summary>
    public void QuantizedEmbedding(QuantizedMatrix table, Tensor tokenIds, Tensor output)
    {
        Require(tokenIds, DType.I32, nameof(tokenIds));
        Require(output, DType.BF16, nameof(output));
        int tokens = (int)tokenIds.NumElements;
        if (output.NumElements != (long)tokens * table.InFeatures) throw new ArgumentException($"output {output.Shape} is not [{tokens}, {table.InFeatures}]");
        if (table.Format == WeightFormat.Dense)
        {
            Embedding(table.Data, tokenIds, output);
            return;
        }
        Dequantize(PartOf(table), tokenIds.Data, 0, tokens, output.Data, table.InFeatures);
    }

    private void LinearQuantized(Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        int k = weight.InFeatures;
        long ldOut = weight.OutFeatures;
        bool outputF32 = output.DType == DType.F32;
        int elementBytes = outputF32 ? 4 : 2;
        int column = 0;
        foreach (var matrix in weight.QuantizedParts)
        {
            nint outSlice = output.Data + (nint)column * elementBytes;
            if (matrix.Format == WeightFormat.Dense)
                _gemm.Run(matrix.Data.Data, input.Data, outSlice, matrix.OutFeatures, rows, k, ldOut, outputF32);
            else
                RunQuantizedPart(PartOf(matrix), input.Data, rows, outSlice, ldOut, outputF32);
            column += matrix.OutFeatures;
        }
    }

    private void RunQuantizedPart(CudaQuantPart part, nint x, int rows, nint outSlice, long ldOut, bool outputF32)
    {
        int k = part.InFeatures;
        if (part.Permutation != 0) x = PermuteInput(x, part.Permutation, rows, k);
        if (UseQuantGemv && rows <= QuantGemvMaxRows && x % 16 == 0)
        {
            nint data = part.Data, parameters = part.Params;
            int n = part.OutFeatures, group = part.GroupSize, blockRows = part.BlockRows, scaleCols = part.ScaleColumns;
            int outF32 = outputF32 ? 1 : 0;
            void** args = stackalloc void*[] { &data, &parameters, &n, &k, &group, &blockRows, &scaleCols, &x, &rows, &outSlice, &ldOut, &outF32 };
            Launch(_quantKernels[part.Family].Gemv, (uint)((n + QuantGemvWarps - 1) / QuantGemvWarps), 1, 32 * QuantGemvWarps, 0, args);
            return;
        }
        // Tiles of whole rows dequantized into one reusable scratch, each multiplied by cuBLASLt into its columns.
        _dequantScratch ??= CudaBuffer.Allocate(_device, DequantScratchBytes);
        int tileRows = (int)Math.Min(part.OutFeatures, DequantScratchBytes / (2L * k) / 64 * 64);
        if (tileRows <= 0) throw new HearthException($"a {part.Format} row of {k} inputs does not fit the {DequantScratchBytes >> 20} MiB dequantization scratch");
        int elementBytes = outputF32 ? 4 : 2;
        for (int start = 0; start < part.OutFeatures; start += tileRows)
        {
            int count = Math.Min(tileRows, part.OutFeatures - start);
            Dequantize(part, 0, start, count, _dequantScratch.Data, k);
            _gemm.Run(_dequantScratch.Data, x, outSlice + (nint)start * elementBytes, count, rows, k, ldOut, outputF32);
        }
    }

    /// <summary>Rows of <paramref name="part"/> (rowIds[i], or rowStart + i) as BF16 into out [rows, ldOut].</summary>
    private void Dequantize(CudaQuantPart part, nint rowIds, int rowStart, int rows, nint output, long ldOut)
    {
        nint data = part.Data, parameters = part.Params;
        int k = part.InFeatures, group = part.GroupSize, blockRows = part.BlockRows, scaleCols = part.ScaleColumns;
        long chunks = (long)rows * (k / CudaQuantLayout.ChunkElements(part.Family));
        void** args = stackalloc void*[] { &data, &parameters, &k, &group, &blockRows, &scaleCols, &rowIds, &rowStart, &rows, &output, &ldOut };
        Launch(_quantKernels[part.Family].Dequant, (uint)((chunks + ElementwiseThreads - 1) / ElementwiseThreads), 1, ElementwiseThreads, 0, args);
    }

    private nint PermuteInput(nint x, nint permutation, int rows, int k)
    {
        long bytes = (long)rows * k * 2;
        if (_permutedInput is null || _permutedInput.SizeBytes < bytes)
        {
            // Grown before a graph is captured (the first steps of each batch size run eagerly), never during one.
            _device.Synchronize();
            _permutedInput?.Dispose();
            _permutedInput = CudaBuffer.Allocate(_device, bytes);
        }
        nint output = _permutedInput.Data;
        long total = (long)rows * k;
        void** args = stackalloc void*[] { &x, &permutation, &k, &total, &output };
        Launch(_permuteColumns, GridFor(total), 1, ElementwiseThreads, 0, args);
        return output;
    }

    private void DisposeQuant()
    {
        _dequantScratch?.Dispose();
        _dequantScratch = null;
        _permutedInput?.Dispose();
        _permutedInput = null;
        _quantParts.Clear();
        FreeHostResident();
    }
}
