namespace Hearth.Backends.Cuda;

/// <summary>
/// Which decode attention kernel a launch takes: the tensor-core kernel (decode_mma.cu) or the CUDA-core fused one
/// (decode_fused.cu). The choice depends only on shapes and settings, never on context lengths, so a CUDA graph
/// captured for a batch bucket keeps it as contexts grow.
/// </summary>
public static class DecodeKernelPlan
{
    /// <summary>
    /// From one sequence: on the H100 at Qwen3-14B's shape the tensor-core kernel measured faster at every batch
    /// and context tried (batch 1 x 512: 9.7 against 10.4 us a layer; 32 x 512: 37.0 against 60.9; 1 x 4096: 20.6
    /// against 24.9).
    /// </summary>
    public const int DefaultMinSeqs = 1;

    /// <summary>The head dims the tensor-core kernel is compiled for (a lane's share of a row is whole 16-byte loads).</summary>
    public static bool SupportsHeadDim(int headDim) => headDim is 64 or 128;

    /// <summary>
    /// True when a decode launch of <paramref name="numSeqs"/> sequences runs on tensor cores: a supported head dim, at
    /// least <paramref name="minSeqs"/> sequences, and for an fp8 cache only when <paramref name="fp8Enabled"/>.
    /// </summary>
    public static bool UseTensorCores(int numSeqs, int headDim, bool fp8Cache, int minSeqs, bool fp8Enabled) =>
        SupportsHeadDim(headDim) && numSeqs >= Math.Max(1, minSeqs) && (!fp8Cache || fp8Enabled);

    /// <summary>
    /// The minimum batch from an environment value: unset or unparsable gives <see cref="DefaultMinSeqs"/>, 0 or
    /// less turns the tensor-core kernel off (<see cref="int.MaxValue"/>).
    /// </summary>
    public static int ParseMinSeqs(string? value) =>
        int.TryParse(value, out int minSeqs) ? (minSeqs <= 0 ? int.MaxValue : minSeqs) : DefaultMinSeqs;

    /// <summary>The ring depths the pipelined tensor-core kernel is compiled for (decode_mma_pipe.cu).</summary>
    public static bool SupportsPipelineStages(int stages) => stages is 2 or 3;

    /// <summary>
    /// Ring depth of the pipelined tensor-core kernel from an environment value: unset or unparsable gives
    /// <see cref="DefaultPipelineStages"/>, 0 (or a depth not compiled) turns it off and the unpipelined kernel runs.
    /// </summary>
    public static int ParsePipelineStages(string? value) =>
        int.TryParse(value, out int stages) ? (SupportsPipelineStages(stages) ? stages : 0) : DefaultPipelineStages;

    /// <summary>Two stages: 64 KiB of shared memory a block at head dim 128, three blocks an SM.</summary>
    public const int DefaultPipelineStages = 2;

    /// <summary>Shared memory of a pipelined block: its warps' rings of 16 key and 16 value rows (bf16) per stage.</summary>
    public static int PipelineSharedBytes(int headDim, int stages, int warps) => warps * stages * 2 * 16 * headDim * sizeof(ushort);

    /// <summary>
    /// Split blocks per SM the pipelined kernel's split plan aims for: the setting when positive, else what fits an SM
    /// (the kernel's occupancy), so that the batch-32 plan is one wave (32 × 8 pairs at three an SM: one split).
    /// </summary>
    public static int PipelineBlocksPerMultiprocessor(int setting, int occupancy, int maxBlocks) =>
        Math.Clamp(setting > 0 ? setting : occupancy, 1, maxBlocks);

    /// <summary>
    /// True when a batch of <paramref name="pairs"/> (sequence, kv head) pairs takes the pipelined kernel: more pairs
    /// than SMs, and no more than fit one wave at the pipelined kernel's <paramref name="occupancy"/> (blocks per
    /// SM). Below, the split plan leaves each warp one or two rounds, so there is nothing to overlap and the
    /// unpipelined kernel is as fast or faster (H100, 14B shape: 9.7 against 10.5 us a layer at 1 × 512, 15.9
    /// against 19.7 at 8 × 512); above, the unpipelined kernel fits one wave at four blocks an SM where the pipelined
    /// one needs 1.3 (64 × 512: 54.6 against 61.7). Between, at batch 32 × 512: 31.8 against 36.9.
    /// </summary>
    public static bool UsePipeline(int pairs, int numMultiprocessors, int occupancy) =>
        pairs > numMultiprocessors && pairs <= (long)Math.Max(1, occupancy) * numMultiprocessors;
}

