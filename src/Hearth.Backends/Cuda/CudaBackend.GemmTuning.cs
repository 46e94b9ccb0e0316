namespace Hearth.Backends.Cuda;

// cuBLASLt algorithm autotuning for skinny GEMMs (decode batches): settings and what it chose.
public sealed partial class CudaBackend
{
    /// <summary>
    /// Time the cuBLASLt heuristic's top candidates once per shape of at most <see cref="GemmAutotuneMaxRows"/> rows
    /// (at the shape's first eager call, never inside a graph capture) and keep the fastest. Off by default
    /// (HEARTH_CUDA_GEMM_AUTOTUNE=1 turns it on): on the H100 at batch 32 the heuristic's pick was within 4 % of the
    /// best candidate for every 14B linear (only lm_head gained, 561 -> 539 us), while tuning inside the engine's
    /// first eager steps cost the bench's batch-32 figure 17.0 against 13.5 ms a step and the concurrent run a
    /// 292 ms ITL p99. Toggling keeps both plans.
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
