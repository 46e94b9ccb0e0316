using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The fused decode kernel's session-4 variants against the CPU backend: the compile-time GQA-group kernels
/// (groups 1, 2, 4, 5, 8) and the runtime-group kernel they replace (forced, and for a group of 3 that has no
/// compiled kernel), at batch 32 and 64 with the split counts of 4, 8 and 16 blocks per SM, and in CUDA graphs.
/// </summary>
internal static class DecodeVariantChecks
{
    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var checks = new Fp8AttentionChecks(cuda, report, random);
        bool groupKernels = cuda.DecodeGroupKernels;
        int perSm = cuda.DecodeBlocksPerMultiprocessor, minSeqs = cuda.TensorCoreDecodeMinSeqs;
        cuda.TensorCoreDecodeMinSeqs = int.MaxValue;   // these are the CUDA-core kernels' checks (TensorCoreDecodeChecks has the other)
        (int, int)[] batch32 = Enumerable.Range(0, 32).Select(i => (480 + 7 * i, 1)).ToArray();
        (int, int)[] batch64 = Enumerable.Range(0, 64).Select(i => (i % 5 == 0 ? 1 : 300 + 13 * i, 1)).ToArray();
        try
        {
            foreach (bool grouped in new[] { true, false })
            {
                cuda.DecodeGroupKernels = grouped;
                string how = grouped ? "group kernel" : "runtime group";
                foreach (int blocks in new[] { 4, 8, 16 })
                {
                    cuda.DecodeBlocksPerMultiprocessor = blocks;
                    Guard(report, $"bf16 decode ({how}, {blocks} blocks/SM) batch 32 h=40 kv=8", () => checks.Attention(DType.BF16, batch32, 40, 8, 128, 16));
                }
                cuda.DecodeBlocksPerMultiprocessor = perSm;
                Guard(report, $"bf16 decode ({how}) batch 64 h=40 kv=8", () => checks.Attention(DType.BF16, batch64, 40, 8, 128, 16));
                Guard(report, $"fp8 decode ({how}) batch h=40 kv=8", () => checks.Attention(DType.F8E4M3, [(2000, 1), (17, 1), (513, 1)], 40, 8, 128, 16));
                Guard(report, $"bf16 decode ({how}) h=32 kv=8 d=128", () => checks.Attention(DType.BF16, [(900, 1), (40, 1)], 32, 8, 128, 16));
                Guard(report, $"bf16 decode ({how}) h=8 kv=8 d=64", () => checks.Attention(DType.BF16, [(300, 1), (2, 1)], 8, 8, 64, 16));
                Guard(report, $"bf16 decode ({how}) h=16 kv=8 d=128", () => checks.Attention(DType.BF16, [(4096, 1), (77, 1)], 16, 8, 128, 16));
                Guard(report, $"fused decode ({how}) in a CUDA graph", () => checks.GraphReplay(cuda));
            }
            cuda.DecodeGroupKernels = true;
            Guard(report, "bf16 decode (group 3: runtime kernel) h=12 kv=4 d=128", () => checks.Attention(DType.BF16, [(700, 1), (33, 1)], 12, 4, 128, 16));
            Guard(report, "fp8 decode (group 3: runtime kernel) h=12 kv=4 d=64", () => checks.Attention(DType.F8E4M3, [(700, 1), (33, 1)], 12, 4, 64, 16));
        }
        finally
        {
            cuda.DecodeGroupKernels = groupKernels;
            cuda.DecodeBlocksPerMultiprocessor = perSm;
            cuda.TensorCoreDecodeMinSeqs = minSeqs;
        }
    }

    private static void Guard(ParityReport report, string name, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
    }
}
