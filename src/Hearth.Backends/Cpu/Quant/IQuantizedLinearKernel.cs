namespace Hearth.Backends.Cpu.Quant;

/// <summary>
/// The CPU matmul of one quantized format, found through <see cref="QuantizedKernels.For"/>. A Linear call
/// first lets the kernel prepare each input row once per part (permute it, sum its groups, quantize it to
/// int8 blocks, ...), then runs it on chunks of output rows from the worker pool. Both steps run on pool
/// threads, so they must not allocate and must only write their own outputs.
/// </summary>
internal unsafe interface IQuantizedLinearKernel
{
    /// <summary>Throws a HearthException when this kernel cannot run <paramref name="part"/> (called once per Linear).</summary>
    void Check(QuantizedMatrix part);

    /// <summary>Bytes of prepared input one input row needs for this part; 0 when the kernel reads x directly.</summary>
    long PreparedRowBytes(QuantizedMatrix part);

    /// <summary>Writes this part's prepared form of one input row x [in] into prepared [PreparedRowBytes].</summary>
    void PrepareRow(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared);

    /// <summary>
    /// y[r · yStride + j] = Σ_i W[j, i] · x[r · InFeatures + i] for the part's output rows j in [rowStart, rowEnd)
    /// and input rows r in [0, rows). prepared holds rows × PreparedRowBytes bytes, row after row; y points at
    /// this part's first output column.
    /// </summary>
    void Run(CpuSimdLevel level, QuantizedMatrix part, float* x, byte* prepared, int rows, int rowStart, int rowEnd,
        float* y, int yStride);

    /// <summary>
    /// Optional, for batches: writes rows [rowStart, rowEnd) of the weights as f32 [rowEnd - rowStart, in] in input
    /// order, so many input rows can share one dequantization of a small chunk. Returns false when not offered.
    /// Kernels pick their own vector width here (the widest the machine has): the result is exact either way.
    /// </summary>
    bool TryDequantizeRows(QuantizedMatrix part, int rowStart, int rowEnd, float* destination) => false;
}
