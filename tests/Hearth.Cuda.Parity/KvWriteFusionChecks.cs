using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// QkNormRopeWriteKv as one launch (CudaBackend.RopeFusion) against the CPU backend's QkNormRope then
/// WriteKvCache, bf16 and fp8 caches, head dims 64/128, with a padded token (slot -1): query, key
/// and value within the q/k-norm tolerances (the cache within one e4m3 step for fp8), and the cache bytes equal to
/// the unfused CUDA ops' bytes exactly.
/// </summary>
internal static class KvWriteFusionChecks
{
    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        using var cpu = new CpuBackend(0);
        foreach (var dtype in new[] { DType.BF16, DType.F8E4M3 })
            foreach (var (tokens, heads, kvHeads, headDim) in new[] { (3, 40, 8, 128), (32, 16, 2, 64), (1, 8, 8, 128) })
            {
                string name = $"qk_norm_rope + kv write fused {(dtype == DType.F8E4M3 ? "fp8" : "bf16")} t={tokens} h={heads} kv={kvHeads} d={headDim}";
                try { Check(cuda, cpu, report, random, dtype, tokens, heads, kvHeads, headDim, name); }
                catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
            }
    }

    private static void Check(CudaBackend cuda, CpuBackend cpu, ParityReport report, RandomData random, DType cacheType,
        int tokens, int heads, int kvHeads, int headDim, string name)
    {
        const int BlockSize = 16, NumBlocks = 8;
        int width = (heads + 2 * kvHeads) * headDim;
        float[] qkv = random.Uniform((long)tokens * width, -2, 2);
        float[] qNorm = random.Uniform(headDim, 0.5f, 1.5f), kNorm = random.Uniform(headDim, 0.5f, 1.5f);
        int[] positions = Enumerable.Range(0, tokens).Select(_ => random.Next(30000)).ToArray();
        int[] slots = Enumerable.Range(0, tokens).Select(t => t == tokens - 1 && tokens > 1 ? -1 : (t * 37 + 5) % (NumBlocks * BlockSize)).ToArray();
        float[] invFreq = Enumerable.Range(0, headDim / 2).Select(i => (float)(1.0 / Math.Pow(1_000_000.0, 2.0 * i / headDim))).ToArray();
        bool fuse = cuda.FuseKvWrite;
        float[][] Run(IBackend b, bool fused)
        {
            if (b is CudaBackend c) c.FuseKvWrite = fused;
            using var pair = new BackendPair(b, b);
            var q = pair.Zeros(b, new Shape(tokens, heads, headDim), b.ActivationDType);
            var k = pair.Zeros(b, new Shape(tokens, kvHeads, headDim), b.ActivationDType);
            var v = pair.Zeros(b, new Shape(tokens, kvHeads, headDim), b.ActivationDType);
            var cacheShape = new Shape(NumBlocks, BlockSize, kvHeads, headDim);
            var cache = new KvCacheLayer(pair.Zeros(b, cacheShape, cacheType), pair.Zeros(b, cacheShape, cacheType));
            var rope = new RopeParameters(pair.Upload(b, invFreq, new Shape(invFreq.Length), DType.F32), 1f);
            b.QkNormRopeWriteKv(pair.Activation(b, qkv, new Shape(tokens, width)), pair.Weight(b, qNorm, new Shape(headDim), DType.F32),
                pair.Weight(b, kNorm, new Shape(headDim), DType.F32), 1e-6f, pair.Ints(b, positions, new Shape(tokens)), rope, q, k, v,
                cache, pair.Ints(b, slots, new Shape(tokens)));
            return [pair.Download(b, q), pair.Download(b, k), pair.Download(b, v), Raw(b, cache.Key), Raw(b, cache.Value)];
        }
        try
        {
            var expected = Run(cpu, false);
            var unfused = Run(cuda, false);
            var fused = Run(cuda, true);
            report.Compare(name + " query vs cpu", expected[0], fused[0], 1.6e-2, 4e-3);
            report.Compare(name + " key vs cpu", expected[1], fused[1], 1.6e-2, 4e-3);
            report.Compare(name + " value vs cpu", expected[2], fused[2], 1.6e-2, 4e-3);
            // The CPU rounds f32 straight to e4m3, CUDA its bf16 activation: one e4m3 step (12.5 %) apart at most.
            double cacheTolerance = cacheType == DType.F8E4M3 ? 0.13 : 1.6e-2;
            report.Compare(name + " key cache vs cpu", Widen(expected[3], cacheType), Widen(fused[3], cacheType), cacheTolerance, 4e-3);
            report.Compare(name + " value cache vs cpu", Widen(expected[4], cacheType), Widen(fused[4], cacheType), cacheTolerance, 4e-3);
            report.Compare(name + " key cache = unfused bit for bit", unfused[3], fused[3], 0, 0);
            report.Compare(name + " value cache = unfused bit for bit", unfused[4], fused[4], 0, 0);
        }
        finally { cuda.FuseKvWrite = fuse; }
    }

    /// <summary>The cache's raw elements (bf16 bits or fp8 bytes) as floats, so equal bytes compare equal.</summary>
    private static float[] Raw(IBackend b, Tensor cache)
    {
        var result = new float[cache.NumElements];
        if (cache.DType == DType.F8E4M3)
        {
            var bytes = new byte[result.Length];
            b.CopyToHost<byte>(cache, bytes);
            for (int i = 0; i < bytes.Length; i++) result[i] = bytes[i];
        }
        else
        {
            var bits = new ushort[result.Length];
            b.CopyToHost<ushort>(cache, bits);
            for (int i = 0; i < bits.Length; i++) result[i] = bits[i];
        }
        return result;
    }

    private static float[] Widen(float[] raw, DType dtype) => raw.Select(r => dtype == DType.F8E4M3
        ? Float8E4M3.ToSingle((byte)r) : BFloat16Bits.ToSingle((ushort)r)).ToArray();
}
