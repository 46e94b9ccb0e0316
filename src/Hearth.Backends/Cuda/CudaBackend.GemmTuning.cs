namespace Hearth.Backends.Cuda;

// cuBLASLt algorithm autotuning for skinny GEMMs (decode batches): settings and what it chose.
public sealed partial class CudaBackend
{
    /// <summary>
    /// Time the cuBLASLt heuristic's top candidates once per shape of at most <see cref="GemmAutotuneMaxRows"/> rows
    /// (at the shape's first eager call, never inside a graph capture) and keep the fastest: on by default,
    /// HEARTH_CUDA_GEMM_AUTOTUNE=0 takes the heuristic's first algorithm as before. Toggling keeps both plans.
    /// </summary>
    public bool GemmAutotune
    {
        get => _gemm.Autotune;
        set => _gemm.Autotune = value;
    }

    /// <summary>The most activation rows a GEMM is autotuned at (decode buckets and short prompts).</summary>
    public static int GemmAutotuneMaxRows => CublasLtGemm.AutotuneMaxRows;

    /// <summary>Every shape autotuned so far, in order.</summary>
    public IReadOnlyList<GemmTuneRecord> GemmTuneRecords => _gemm.TuneRecords;
}
