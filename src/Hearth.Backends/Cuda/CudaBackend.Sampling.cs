using Hearth.Core;

namespace Hearth.Backends.Cuda;

// Sampling on the GPU (Kernels/sampling.cu): penalties, temperature, min-p, top-k, top-p and the draw, one block
// per row, so only token ids cross to the host. SamplingReference is the same algorithm on the CPU.
public sealed unsafe partial class CudaBackend
{
    private const uint SampleThreads = 1024;
    private nint _sampleRows;

    /// <summary>
    /// Picks one token per row of <paramref name="logits"/> [rows, vocab] F32 (changed: the penalties are applied
    /// in place). <paramref name="rowParams"/> holds [rows] <see cref="SamplingRowParams"/>; row r's penalized
    /// tokens are <paramref name="penaltyTokens"/>[offsets[r] .. offsets[r+1]) (I32, each distinct token of the
    /// prompt and output once) with their output counts in <paramref name="penaltyCounts"/>; ids [rows] I32.
    /// </summary>
    public void SampleRows(Tensor logits, Tensor rowParams, Tensor penaltyOffsets, Tensor penaltyTokens, Tensor penaltyCounts, Tensor ids)
    {
        Require(logits, DType.F32, nameof(logits));
        Require(penaltyOffsets, DType.I32, nameof(penaltyOffsets));
        Require(penaltyTokens, DType.I32, nameof(penaltyTokens));
        Require(penaltyCounts, DType.I32, nameof(penaltyCounts));
        Require(ids, DType.I32, nameof(ids));
        int rows = logits.Shape[0], vocab = (int)(logits.NumElements / Math.Max(1, rows));
        if (rowParams.SizeBytes < (long)rows * sizeof(SamplingRowParams)) throw new ArgumentException($"rowParams {rowParams} holds fewer than {rows} rows");
        if (penaltyOffsets.NumElements < rows + 1) throw new ArgumentException($"penaltyOffsets {penaltyOffsets.Shape} has fewer than {rows + 1} entries");
        if (penaltyCounts.NumElements < penaltyTokens.NumElements) throw new ArgumentException("penaltyCounts is shorter than penaltyTokens");
        if (ids.NumElements < rows) throw new ArgumentException($"ids {ids.Shape} has fewer than {rows} rows");
        if (_sampleRows == 0) _sampleRows = Function("sample_rows_f32");
        nint logitsPtr = logits.Data, paramsPtr = rowParams.Data, offsetsPtr = penaltyOffsets.Data;
        nint tokensPtr = penaltyTokens.Data, countsPtr = penaltyCounts.Data, idsPtr = ids.Data;
        void** args = stackalloc void*[] { &logitsPtr, &vocab, &paramsPtr, &offsetsPtr, &tokensPtr, &countsPtr, &idsPtr };
        Launch(_sampleRows, (uint)rows, 1, SampleThreads, 0, args);
    }
}
