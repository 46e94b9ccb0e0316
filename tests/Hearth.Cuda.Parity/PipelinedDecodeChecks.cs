using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The pipelined tensor-core decode kernel (decode_mma_pipe.cu: K/V tiles through a cp.async ring)
/// against the CPU backend, at both ring depths: GQA groups 1, 2, 5, 8 at head dims 64 and 128 over contexts that
/// are and are not multiples of the 16-key tile and of the 64-key block round (1, 15, 16, 17, 63, 65, 512, 4,100),
/// odd block sizes (5, 7) so that tiles straddle cache blocks, the engine's batch 32 at 2, 3 (its occupancy) and 4
/// blocks per SM, batch 64, a CUDA graph replayed as the context grows, and an fp8 cache (which takes the
/// unpipelined kernel). Then the unpipelined tensor-core kernel once more at batch 32, the A/B reference.
/// </summary>
internal static class PipelinedDecodeChecks
{
    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var checks = new Fp8AttentionChecks(cuda, report, random);
        int minSeqs = cuda.TensorCoreDecodeMinSeqs, stages = cuda.DecodePipelineStages, perSm = cuda.PipelinedDecodeBlocksPerMultiprocessor;
        bool fp8 = cuda.TensorCoreDecodeFp8, any = cuda.PipelinedDecodeAnyBatch;
        (int, int)[] contexts = [(1, 1), (15, 1), (16, 1), (17, 1), (63, 1), (65, 1), (512, 1), (4100, 1)];
        (int, int)[] batch32 = Enumerable.Range(0, 32).Select(i => (i == 3 ? 1 : i == 5 ? 17 : 480 + 7 * i, 1)).ToArray();
        try
        {
            cuda.TensorCoreDecodeMinSeqs = 1;
            cuda.PipelinedDecodeAnyBatch = true;
            foreach (int depth in new[] { 2, 3 })
            {
                cuda.DecodePipelineStages = depth;
                cuda.PipelinedDecodeBlocksPerMultiprocessor = 0;
                Console.WriteLine($"pipelined decode, {depth} stages (occupancy {cuda.PipelinedDecodeOccupancy(128, depth)} blocks/SM at d=128):");
                foreach (int headDim in new[] { 64, 128 })
                    foreach (int group in new[] { 1, 2, 5, 8 })
                    {
                        int kvHeads = group == 1 ? 4 : 2;
                        Guard(report, $"bf16 decode (pipe{depth}) group={group} d={headDim}",
                            () => checks.Attention(DType.BF16, contexts, group * kvHeads, kvHeads, headDim, 16));
                    }
                foreach (int blockSize in new[] { 5, 7 })
                    Guard(report, $"bf16 decode (pipe{depth}) block={blockSize}",
                        () => checks.Attention(DType.BF16, [(1, 1), (33, 1), (700, 1), (4100, 1)], 40, 8, 128, blockSize));
                Guard(report, $"fused decode (pipe{depth}) in a CUDA graph", () => checks.GraphReplay(cuda));
                foreach (int blocks in new[] { 2, 3, 4 })
                {
                    cuda.PipelinedDecodeBlocksPerMultiprocessor = blocks;
                    Guard(report, $"bf16 decode (pipe{depth}, {blocks} blocks/SM) batch 32 h=40 kv=8",
                        () => checks.Attention(DType.BF16, batch32, 40, 8, 128, 16));
                }
                cuda.PipelinedDecodeBlocksPerMultiprocessor = 0;
                Guard(report, $"bf16 decode (pipe{depth}) batch 64 h=40 kv=8",
                    () => checks.Attention(DType.BF16, [.. batch32, .. batch32], 40, 8, 128, 16));
            }
            cuda.DecodePipelineStages = DecodeKernelPlan.DefaultPipelineStages;
            cuda.TensorCoreDecodeFp8 = true;
            Guard(report, "fp8 decode with the pipeline on (unpipelined kernel) batch 8",
                () => checks.Attention(DType.F8E4M3, batch32[..8], 40, 8, 128, 16));
            cuda.DecodePipelineStages = 0;
            Console.WriteLine("unpipelined tensor-core decode:");
            Guard(report, "bf16 decode (unpipelined) batch 32 h=40 kv=8", () => checks.Attention(DType.BF16, batch32, 40, 8, 128, 16));
            cuda.DecodePipelineStages = stages;
            cuda.PipelinedDecodeAnyBatch = false;
            Console.WriteLine("default kernel plan (pipelined at batch 32, not at 64):");
            Guard(report, "bf16 decode (default plan) batch 32 h=40 kv=8", () => checks.Attention(DType.BF16, batch32, 40, 8, 128, 16));
            Guard(report, "bf16 decode (default plan) batch 64 h=40 kv=8",
                () => checks.Attention(DType.BF16, [.. batch32, .. batch32], 40, 8, 128, 16));
        }
        finally
        {
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
            cuda.DecodePipelineStages = stages;
            cuda.PipelinedDecodeBlocksPerMultiprocessor = perSm;
            cuda.TensorCoreDecodeFp8 = fp8;
            cuda.PipelinedDecodeAnyBatch = any;
        }
    }

    private static void Guard(ParityReport report, string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }
}
