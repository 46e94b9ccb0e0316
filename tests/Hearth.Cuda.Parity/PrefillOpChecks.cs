namespace Hearth.Cuda.Parity;

/// <summary>
/// Ops at prefill sizes, where the CUDA backend switches kernels: QkNormRope from 64 tokens runs a block per token
/// with the rotation table computed once (head dims 64/128/256, full and partial rotary, YaRN scaling).
/// </summary>
internal static class PrefillOpChecks
{
    public static void Run(OpChecks ops, ParityReport report)
    {
        foreach (var (tokens, heads, kvHeads, dim, rotary, norms, scaling) in new[]
        {
            (300, 40, 8, 128, 128, true, 1f), (64, 8, 2, 64, 64, true, 1f), (97, 4, 2, 128, 64, true, 1.1f),
            (130, 4, 1, 256, 256, false, 1.25f), (63, 16, 8, 128, 128, true, 1f),
        })
        {
            try { ops.QkNormRope(tokens, heads, kvHeads, dim, rotary, norms, scaling); }
            catch (Exception e) when (e is not OutOfMemoryException) { report.Fail($"qk_norm_rope t={tokens} h={heads} d={dim}", e); }
        }
    }
}
