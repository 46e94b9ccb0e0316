using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Where a quantized batch-1 decode step's time goes outside the linears (--ablation-timing): the whole 14B step in
/// Qwen3Model's order (random int4 or fp8 layer weights shared by the 40 layers, context 512, a zero bf16 lm_head),
/// then the same step with groups of the small ops left out, each replayed from a CUDA graph in one process. A step
/// without an op computes wrong numbers; its time is the upper bound of what fusing that op away could save. "one
/// more norm" adds a fifth small launch a layer (an add+norm on spare buffers): what a launch in the chain costs.
/// </summary>
internal static class StepAblationTiming
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936, Layers = 40;
    private const int Context = 512, BlockSize = 16, Replays = 10;

    [Flags]
    private enum Ops { None = 0, Norms = 1, QkNormRope = 2, Attention = 4, LmHead = 8, ExtraNorm = 16, All = Norms | QkNormRope | Attention | LmHead }

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine($"step ablation (14B shape, batch 1, context {Context}, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, graph replay):");
        var random = new Random(17);
        var hostBlocks = new List<nint>();
        (string Label, Ops Ops)[] variants =
        [
            ("full step", Ops.All), ("without the 2 add+norms", Ops.All & ~Ops.Norms), ("without q/k norm+rope+kv write", Ops.All & ~Ops.QkNormRope),
            ("without attention", Ops.All & ~Ops.Attention), ("linears + lm_head only", Ops.LmHead), ("linears only", Ops.None),
            ("full + one more norm a layer", Ops.All | Ops.ExtraNorm), ("full step (again)", Ops.All),
        ];
        // A/B runs of kernel settings (HEARTH_CUDA_KERNEL_DEFINES, one process each) need the whole step only.
        if (Environment.GetEnvironmentVariable("HEARTH_ABLATION_FULL_ONLY") == "1")
            variants = [("full step", Ops.All), ("full step (again)", Ops.All)];
        try
        {
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("awq-int4 g128", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
                ("fp8 128x128", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
            })
            {
                LinearWeight[] layer =
                [
                    QuantTiming.Fused(cuda, make(Heads * HeadDim, Hidden), make(KvHeads * HeadDim, Hidden), make(KvHeads * HeadDim, Hidden)),
                    QuantTiming.Fused(cuda, make(Hidden, Heads * HeadDim)),
                    QuantTiming.Fused(cuda, make(Inter, Hidden), make(Inter, Hidden)),
                    QuantTiming.Fused(cuda, make(Hidden, Inter)),
                ];
                QuantTiming.FreeHost(hostBlocks);
                double full = 0;
                foreach (var (label, ops) in variants)
                {
                    using var memory = new BackendPair(cuda, cuda);
                    double seconds = GraphTiming.SecondsPerReplay(cuda, BuildStep(cuda, memory, layer, ops), Replays);
                    if (full == 0) full = seconds;
                    Console.WriteLine($"  {name,-14} {label,-32} {seconds * 1e3,7:F3} ms  ({(seconds - full) * 1e6 / Layers,6:F1} us a layer vs full)");
                }
            }
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
        }
    }

    private static Action BuildStep(CudaBackend cuda, BackendPair memory, LinearWeight[] layer, Ops ops)
    {
        Tensor Z(DType t, params int[] d) => memory.Zeros(cuda, d.Length switch
        {
            1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
        }, t);
        var lmHead = LinearWeight.Dense(Z(DType.BF16, Vocab, Hidden));
        var norm = Z(DType.BF16, Hidden);
        var headNorm = Z(DType.BF16, HeadDim);
        var rope = new RopeParameters(Z(DType.F32, HeadDim / 2), 1f);
        var residual = Z(DType.BF16, 1, Hidden);
        var spareResidual = Z(DType.BF16, 1, Hidden);
        var spareNormed = Z(DType.BF16, 1, Hidden);
        var normed = Z(DType.BF16, 1, Hidden);
        var qkv = Z(DType.BF16, 1, (Heads + 2 * KvHeads) * HeadDim);
        var q = Z(DType.BF16, 1, Heads, HeadDim);
        var k = Z(DType.BF16, 1, KvHeads, HeadDim);
        var v = Z(DType.BF16, 1, KvHeads, HeadDim);
        var attention = Z(DType.BF16, 1, Heads, HeadDim);
        var attentionFlat = attention.Reshape(new Shape(1, Heads * HeadDim));
        var projected = Z(DType.BF16, 1, Hidden);
        var gateUp = Z(DType.BF16, 1, 2 * Inter);
        var activated = Z(DType.BF16, 1, Inter);
        var logits = Z(DType.F32, 1, Vocab);
        int blocksPerSeq = Context / BlockSize + 1;
        var caches = new KvCacheLayer[Layers];
        for (int l = 0; l < Layers; l++)
            caches[l] = new KvCacheLayer(Z(DType.BF16, blocksPerSeq, BlockSize, KvHeads, HeadDim), Z(DType.BF16, blocksPerSeq, BlockSize, KvHeads, HeadDim));
        var metadata = new AttentionMetadata
        {
            NumSeqs = 1, NumTokens = 1, MaxQueryLen = 1, MaxSeqLen = Context,
            QueryStartLocs = memory.Ints(cuda, [0, 1], new Shape(2)),
            SeqLens = memory.Ints(cuda, [Context], new Shape(1)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, blocksPerSeq).ToArray(), new Shape(1, blocksPerSeq)),
            SlotMapping = memory.Ints(cuda, [Context - 1], new Shape(1)),
            Positions = memory.Ints(cuda, [Context - 1], new Shape(1)),
        };
        return () =>
        {
            for (int l = 0; l < Layers; l++)
            {
                cuda.Linear(normed, layer[0], qkv);
                if (ops.HasFlag(Ops.QkNormRope)) cuda.QkNormRopeWriteKv(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v, caches[l], metadata.SlotMapping);
                if (ops.HasFlag(Ops.Attention)) cuda.Attention(q, caches[l], metadata, 0.088f, attention);
                cuda.Linear(attentionFlat, layer[1], projected);
                if (ops.HasFlag(Ops.Norms)) cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
                if (ops.HasFlag(Ops.ExtraNorm)) cuda.AddRmsNorm(spareResidual, projected, norm, 1e-6f, spareNormed);
                cuda.LinearSiluMul(normed, layer[2], gateUp, activated);
                cuda.Linear(activated, layer[3], projected);
                if (ops.HasFlag(Ops.Norms)) cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
            }
            if (ops.HasFlag(Ops.LmHead)) cuda.Linear(normed, lmHead, logits);
        };
    }
}
