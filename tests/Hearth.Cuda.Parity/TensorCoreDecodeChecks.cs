using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The tensor-core decode kernel (decode_mma.cu) against the CPU backend: GQA groups 1, 2, 5, 8 at head dims 64 and
/// 128 over bf16 and fp8 caches, each as one batch of contexts 1, 17, 512 and 4,100 (forced on from one sequence,
/// so the splits of a long context and the single-split path both run), the engine's batch 32 at 4, 8 and 16
/// blocks per SM, and a captured CUDA graph replayed as the context grows.
/// </summary>
internal static class TensorCoreDecodeChecks
{
    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var checks = new Fp8AttentionChecks(cuda, report, random);
        int minSeqs = cuda.TensorCoreDecodeMinSeqs, perSm = cuda.DecodeBlocksPerMultiprocessor;
        bool fp8 = cuda.TensorCoreDecodeFp8;
        cuda.TensorCoreDecodeFp8 = true;
        (int, int)[] contexts = [(1, 1), (17, 1), (512, 1), (4100, 1)];
        try
        {
            cuda.TensorCoreDecodeMinSeqs = 1;
            foreach (var dtype in new[] { DType.BF16, DType.F8E4M3 })
            {
                string n = dtype == DType.F8E4M3 ? "fp8" : "bf16";
                foreach (int headDim in new[] { 64, 128 })
                    foreach (int group in new[] { 1, 2, 5, 8 })
                    {
                        int kvHeads = group == 1 ? 4 : 2;
                        Guard(report, $"{n} decode (tensor cores) group={group} d={headDim}",
                            () => checks.Attention(dtype, contexts, group * kvHeads, kvHeads, headDim, 16));
                    }
                Guard(report, $"{n} decode (tensor cores) one sequence 4,100 h=40 kv=8 d=128 block=5",
                    () => checks.Attention(dtype, [(4100, 1)], 40, 8, 128, 5));
            }
            Guard(report, "fused decode (tensor cores) in a CUDA graph", () => checks.GraphReplay(cuda));
            cuda.TensorCoreDecodeMinSeqs = 4;
            (int, int)[] batch32 = Enumerable.Range(0, 32).Select(i => (i == 3 ? 1 : 480 + 7 * i, 1)).ToArray();
            foreach (int blocks in new[] { 4, 8, 16 })
            {
                cuda.DecodeBlocksPerMultiprocessor = blocks;
                Guard(report, $"bf16 decode (tensor cores, {blocks} blocks/SM) batch 32 h=40 kv=8",
                    () => checks.Attention(DType.BF16, batch32, 40, 8, 128, 16));
            }
            Guard(report, "fp8 decode (tensor cores) batch 8 h=40 kv=8",
                () => checks.Attention(DType.F8E4M3, batch32[..8], 40, 8, 128, 16));
        }
        finally
        {
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
            cuda.DecodeBlocksPerMultiprocessor = perSm;
            cuda.TensorCoreDecodeFp8 = fp8;
        }
    }

    private static void Guard(ParityReport report, string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }
}
