using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Programmatic dependent launch changes when kernels start, never what they compute: a small decode step (random
/// weights; bf16 q|k|v and o through the bf16 GEMV, int4 gate|up and down through the streaming quantized GEMV, q/k
/// norm + RoPE + KV write, tensor-core decode attention, add + norms, lm_head) must give the same logits bit for bit
/// with PDL off, on, and on inside a replayed CUDA graph (whose programmatic edges come from stream capture).
/// Then <see cref="Timing"/>: the 14B-shaped step with PDL off and on in the same process.
/// </summary>
internal static class PdlChecks
{
    private const int Hidden = 256, Heads = 4, KvHeads = 2, HeadDim = 64, Inter = 512, Vocab = 1000, Layers = 3, Context = 40, BlockSize = 16;

    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        bool saved = cuda.UseProgrammaticLaunch, savedPipelined = cuda.PipelinedDecodeAnyBatch;
        cuda.UseProgrammaticLaunch = true;
        Console.WriteLine($"PDL: {(cuda.UseProgrammaticLaunch ? "supported, checking" : "not supported on this GPU (plain launches)")}");
        cuda.UseProgrammaticLaunch = saved;
        var hostBlocks = new List<nint>();
        try
        {
            foreach (var (batch, pipelined) in new[] { (1, false), (3, false), (3, true) })
            {
                // The pipelined decode attention runs only at batches of more (sequence, kv head) pairs than SMs; here it is forced.
                cuda.PipelinedDecodeAnyBatch = pipelined;
                Check(cuda, report, random, batch, hostBlocks, pipelined ? $"batch {batch}, pipelined attention" : $"batch {batch}");
            }
        }
        catch (Exception e) when (e is HearthException or ArgumentException) { report.Fail("pdl decode step", e); }
        finally
        {
            cuda.UseProgrammaticLaunch = saved;
            cuda.PipelinedDecodeAnyBatch = savedPipelined;
            QuantTiming.FreeHost(hostBlocks);
        }
    }

    private static void Check(CudaBackend cuda, ParityReport report, RandomData random, int batch, List<nint> hostBlocks, string label)
    {
        using var memory = new BackendPair(cuda, cuda);
        Tensor R(float scale, params int[] d) => memory.Activation(cuda, random.Uniform(d.Aggregate(1L, (a, b) => a * b), -scale, scale), d.Length switch
        {
            1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
        });
        var seeded = new Random(batch);
        var qkvW = LinearWeight.Dense(R(0.06f, Heads * HeadDim, Hidden), R(0.06f, KvHeads * HeadDim, Hidden), R(0.06f, KvHeads * HeadDim, Hidden));
        var oW = LinearWeight.Dense(R(0.06f, Hidden, Heads * HeadDim));
        var gateUpW = QuantTiming.Fused(cuda, QuantTiming.Int4(Inter, Hidden, seeded, hostBlocks), QuantTiming.Int4(Inter, Hidden, seeded, hostBlocks));
        var downW = QuantTiming.Fused(cuda, QuantTiming.Int4(Hidden, Inter, seeded, hostBlocks));
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
            SeqLens = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => Context - 7 * s).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, Enumerable.Range(0, batch * blocksPerSeq).ToArray(), new Shape(batch, blocksPerSeq)),
            SlotMapping = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => s * blocksPerSeq * BlockSize + Context - 7 * s - 1).ToArray(), new Shape(batch)),
            Positions = memory.Ints(cuda, Enumerable.Range(0, batch).Select(s => Context - 7 * s - 1).ToArray(), new Shape(batch)),
        };
        // Every run starts from the same residual stream; the KV write stores the same rows each time.
        void Step()
        {
            cuda.CopyDeviceToDevice(pristineResidual, residual);
            cuda.CopyDeviceToDevice(pristineNormed, normed);
            for (int l = 0; l < Layers; l++)
            {
                cuda.Linear(normed, qkvW, qkv);
                cuda.QkNormRopeWriteKv(qkv, headNorm, headNorm, 1e-6f, metadata.Positions, rope, q, k, v, caches[l], metadata.SlotMapping);
                cuda.Attention(q, caches[l], metadata, 0.125f, attention);
                cuda.Linear(attentionFlat, oW, projected);
                cuda.AddRmsNorm(residual, projected, norm, 1e-6f, normed);
                cuda.LinearSiluMul(normed, gateUpW, gateUp, activated);
                cuda.Linear(activated, downW, projected);
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

        cuda.UseProgrammaticLaunch = false;
        Step();
        float[] plain = Logits();
        cuda.UseProgrammaticLaunch = true;
        Step();
        float[] eager = Logits();
        cuda.BeginCapture();
        Step();
        using var graph = cuda.EndCapture();
        var replays = new List<float[]>();
        for (int i = 0; i < 3; i++)
        {
            cuda.Replay(graph);
            replays.Add(Logits());
        }
        bool finite = plain.All(float.IsFinite) && plain.Any(x => x != 0f);
        report.Record(finite, $"pdl step {label}: logits finite and non-zero", finite ? "" : "degenerate reference logits");
        report.Record(eager.AsSpan().SequenceEqual(plain), $"pdl step {label}: eager PDL == plain launches", Difference(plain, eager));
        for (int i = 0; i < replays.Count; i++)
            report.Record(replays[i].AsSpan().SequenceEqual(plain), $"pdl step {label}: graph replay {i + 1} (PDL) == plain", Difference(plain, replays[i]));
    }

    private static string Difference(float[] expected, float[] actual)
    {
        int count = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i]) { count++; if (first < 0) first = i; }
        return count == 0 ? "" : $"{count} of {expected.Length} logits differ, first at {first}: {expected[first]} vs {actual[first]}";
    }
}
