using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The L2 prefetch (session 10) changes where weights sit, never what a kernel computes: a small decode step in
/// Qwen3Model's order and with its hints (int4 q|k|v and gate|up, fp8 o and down, bf16 lm_head; q/k norm + RoPE + KV
/// write, tensor-core decode attention, add + norms) must give the same logits bit for bit with the prefetch off and
/// on at each site, with whole weights and with capped prefixes, eagerly and replayed from a CUDA graph, at batch 1
/// and 3. A plain RmsNorm with a hint must equal one without. The plans must be non-empty and within their caps.
/// </summary>
internal static class L2PrefetchChecks
{
    private const int Hidden = 256, Heads = 4, KvHeads = 2, HeadDim = 64, Inter = 512, Vocab = 1000, Layers = 3, Context = 40, BlockSize = 16;

    private readonly record struct Setting(string Label, L2PrefetchSites Sites, long PrefixBytes, long WholeMaxBytes, int NormBlocks);

    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        var saved = (cuda.L2PrefetchSites, cuda.L2PrefetchPrefixBytes, cuda.L2PrefetchWholeMaxBytes, cuda.L2PrefetchNormBlocks, cuda.UseProgrammaticLaunch);
        var hostBlocks = new List<nint>();
        try
        {
            foreach (int batch in new[] { 1, 3 }) Check(cuda, report, random, batch, hostBlocks);
        }
        catch (Exception e) when (e is HearthException or ArgumentException) { report.Fail("l2 prefetch step", e); }
        finally
        {
            (cuda.L2PrefetchSites, cuda.L2PrefetchPrefixBytes, cuda.L2PrefetchWholeMaxBytes, cuda.L2PrefetchNormBlocks, cuda.UseProgrammaticLaunch) = saved;
            QuantTiming.FreeHost(hostBlocks);
        }
    }

    private static void Check(CudaBackend cuda, ParityReport report, RandomData random, int batch, List<nint> hostBlocks)
    {
        using var memory = new BackendPair(cuda, cuda);
        Tensor R(float scale, params int[] d) => memory.Activation(cuda, random.Uniform(d.Aggregate(1L, (a, b) => a * b), -scale, scale), d.Length switch
        {
            1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
        });
        var seeded = new Random(100 + batch);
        var qkvW = QuantTiming.Fused(cuda, QuantTiming.Int4(Heads * HeadDim, Hidden, seeded, hostBlocks),
            QuantTiming.Int4(KvHeads * HeadDim, Hidden, seeded, hostBlocks), QuantTiming.Int4(KvHeads * HeadDim, Hidden, seeded, hostBlocks));
        var oW = QuantTiming.Fused(cuda, QuantTiming.Fp8(Hidden, Heads * HeadDim, seeded, hostBlocks));
        var gateUpW = QuantTiming.Fused(cuda, QuantTiming.Int4(Inter, Hidden, seeded, hostBlocks), QuantTiming.Int4(Inter, Hidden, seeded, hostBlocks));
        var downW = QuantTiming.Fused(cuda, QuantTiming.Fp8(Hidden, Inter, seeded, hostBlocks));
        var lmHead = LinearWeight.Dense(R(0.06f, Vocab, Hidden));
        var norm = memory.Activation(cuda, random.Uniform(Hidden, 0.5f, 1.5f), new Shape(Hidden));
        var headNorm = memory.Activation(cuda, random.Uniform(HeadDim, 0.5f, 1.5f), new Shape(HeadDim));
        var frequencies = Enumerable.Range(0, HeadDim / 2).Select(i => MathF.Pow(10000f, -2f * i / HeadDim)).ToArray();
        var rope = new RopeParameters(memory.Upload(cuda, frequencies, new Shape(HeadDim / 2), DType.F32), 1f);
        var pristineResidual = R(1f, batch, Hidden);
        var pristineNormed = R(1f, batch, Hidden);
        var residual = R(0f, batch, Hidden);
        var normed = R(0f, batch, Hidden);
        var qkv = R(0f, batch, (Heads + 2 * KvHeads) * HeadDim);
        var q = R(0f, batch, Heads, HeadDim);
        var k = R(0f, batch, KvHeads, HeadDim);
        var v = R(0f, batch, KvHeads, HeadDim);
        var attention = R(0f, batch, Heads, HeadDim);
        var attentionFlat = attention.Reshape(new Shape(batch, Heads * HeadDim));
        var projected = R(0f, batch, Hidden);
        var gateUp = R(0f, batch, 2 * Inter);
        var activated = R(0f, batch, Inter);
        var logits = memory.Zeros(cuda, new Shape(batch, Vocab), DType.F32);
        int blocksPerSeq = Context / BlockSize + 1;
        var caches = new KvCacheLayer[Layers];
        for (int l = 0; l < Layers; l++)
            caches[l] = new KvCacheLayer(R(1f, batch * blocksPerSeq, BlockSize, KvHeads, HeadDim), R(1f, batch * blocksPerSeq, BlockSize, KvHeads, HeadDim));
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = Context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => Context - 5 * s).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, batch * blocksPerSeq).ToArray(), new Shape(batch, blocksPerSeq)),
            SlotMapping = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => s * blocksPerSeq * BlockSize + Context - 5 * s - 1).ToArray(), new Shape(batch)),
            Positions = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => Context - 5 * s - 1).ToArray(), new Shape(batch)),
        };
        // Qwen3Model's order and hints; every run starts from the same residual stream and rewrites the same KV rows.
        void Step()
        {
            cuda.CopyDeviceToDevice(pristineResidual, residual);
            cuda.HintNextLinear(qkvW);
            cuda.RmsNorm(pristineNormed, norm, 1e-6f, normed);
            for (int l = 0; l < Layers; l++)
            {
                cuda.Linear(normed, qkvW, qkv);
                cuda.HintNextLinear(oW);
                cuda.QkNormRopeWriteKv(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v, caches[l], metadata.SlotMapping);
                cuda.Attention(q, caches[l], metadata, 0.125f, attention);
                cuda.Linear(attentionFlat, oW, projected);
                cuda.HintNextLinear(gateUpW);
                cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
                cuda.LinearSiluMul(normed, gateUpW, gateUp, activated);
                cuda.Linear(activated, downW, projected);
                cuda.HintNextLinear(l + 1 < Layers ? qkvW : lmHead);
                cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
            }
            cuda.Linear(normed, lmHead, logits);
        }
        float[] Logits()
        {
            var host = new float[batch * Vocab];
            cuda.CopyToHost<float>(logits, host);
            return host;
        }

        cuda.UseProgrammaticLaunch = true;   // stays off where the GPU has no PDL
        Apply(cuda, new Setting("off", L2PrefetchSites.None, 0, 0, 0));
        Step();
        float[] reference = Logits();
        bool finite = reference.All(float.IsFinite) && reference.Any(x => x != 0f);
        report.Record(finite, $"l2 prefetch step batch {batch}: logits finite and non-zero", finite ? "" : "degenerate reference logits");

        var all = L2PrefetchSites.Attention | L2PrefetchSites.Norms;
        Setting[] settings =
        [
            new("attention + norms, whole / 8 MiB prefix", all, 8 << 20, 32 << 20, 8),
            new("attention + norms, capped 24 KiB / 16 KiB", all, 24 << 10, 16 << 10, 8),
            new("rope + norms, 0 extra norm blocks", L2PrefetchSites.Rope | L2PrefetchSites.Norms, 40 << 10, 32 << 20, 0),
            new("every site, 64 extra norm blocks", all | L2PrefetchSites.Rope, 8 << 20, 32 << 20, 64),
        ];
        foreach (var setting in settings)
        {
            Apply(cuda, setting);
            foreach (var (name, weight) in new[] { ("q|k|v int4", qkvW), ("o fp8", oW), ("gate|up int4", gateUpW), ("lm_head bf16", lmHead) })
            {
                var prefix = cuda.L2PrefetchSpansOf(weight, setting.PrefixBytes);
                var whole = cuda.L2PrefetchSpansOf(weight, setting.WholeMaxBytes);
                bool planned = !prefix.IsEmpty && prefix.TotalBytes <= setting.PrefixBytes && !whole.IsEmpty && whole.TotalBytes <= Math.Max(setting.WholeMaxBytes, 16);
                report.Record(planned, $"l2 prefetch plan batch {batch}, {setting.Label}: {name}",
                    $"prefix {prefix.TotalBytes} bytes in {prefix.Count} spans (cap {setting.PrefixBytes}), whole-site {whole.TotalBytes} (cap {setting.WholeMaxBytes})");
            }
            Step();
            float[] eager = Logits();
            report.Record(eager.AsSpan().SequenceEqual(reference), $"l2 prefetch step batch {batch}, {setting.Label}: eager == off", Difference(reference, eager));
            cuda.BeginCapture();
            Step();
            using var graph = cuda.EndCapture();
            for (int i = 0; i < 2; i++)
            {
                cuda.Replay(graph);
                float[] replayed = Logits();
                report.Record(replayed.AsSpan().SequenceEqual(reference), $"l2 prefetch step batch {batch}, {setting.Label}: graph replay {i + 1} == off",
                    Difference(reference, replayed));
            }
        }
    }

    private static void Apply(CudaBackend cuda, Setting setting)
    {
        cuda.L2PrefetchSites = setting.Sites;
        cuda.L2PrefetchPrefixBytes = setting.PrefixBytes;
        cuda.L2PrefetchWholeMaxBytes = setting.WholeMaxBytes;
        cuda.L2PrefetchNormBlocks = setting.NormBlocks;
    }

    private static string Difference(float[] expected, float[] actual)
    {
        int count = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i]) { count++; if (first < 0) first = i; }
        return count == 0 ? "" : $"{count} of {expected.Length} logits differ, first at {first}: {expected[first]} vs {actual[first]}";
    }
}
