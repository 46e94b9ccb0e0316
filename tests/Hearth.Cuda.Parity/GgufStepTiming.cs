using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Hearth.Models.Gguf;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Where a GGUF Q4_K_M decode step goes at batch 1 on Qwen3-14B's shape (--gguf-timing): the linears built with the
/// formats `hearth quantize --to gguf-q4_k_m` writes (GgufConverter.ChooseType: Q4_K everywhere, except attn_v and
/// ffn_down in Q6_K on 20 of the 40 layers, the lm_head in Q6_K, token_embd in Q4_K), random blocks, each op timed from
/// a CUDA graph over <see cref="Copies"/> distinct copies of its weights (so L2 holds none), then the whole step
/// (embedding, 40 layers in the recipe's order with attention at a 576-token context, lm_head and the greedy pick) as
/// the model runs it, with the mixed-family q|k|v launch off and on in the same process.
/// </summary>
internal static class GgufStepTiming
{
    private const int Hidden = 5120, Heads = 40, KvHeads = 8, HeadDim = 128, Inter = 17408, Vocab = 151936, Layers = 40;
    private const int KvRows = KvHeads * HeadDim, Copies = 4, Replays = 20, StepReplays = 10, Context = 576, BlockSize = 16;
    private static readonly string[] OpNames = ["q|k|v", "o", "gate|up+silu", "down"];

    private sealed record LayerCopy(LinearWeight[] Linears, long[] Bytes);

    /// <param name="settings">When given (K4bTiming): instead of the mixed/ring variants, each op and the whole step under each
    /// setting (Apply called before it), the settings alternated over two rounds in this process.</param>
    public static void Run(CudaBackend cuda, IReadOnlyList<(string Name, Action Apply)>? settings = null)
    {
        Console.WriteLine($"GGUF Q4_K_M decode step op by op (14B shape, batch 1, random blocks, graph replay, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}):");
        bool savedMixed = cuda.UseMixedKQuantGemv;
        int savedRing = cuda.KQuantRingMaxTiles;
        var random = new RandomData(11);
        try
        {
            bool[] q6Layer = Enumerable.Range(0, Layers).Select(i => GgufConverter.ChooseType($"blk.{i}.ffn_down.weight", new Shape(Hidden, Inter),
                GgufFileType.Q4_K_M, Layers, hasOutput: true) == GgufTensorType.Q6_K).ToArray();
            Console.WriteLine($"  layers with Q6_K attn_v and ffn_down: {q6Layer.Count(b => b)} of {Layers} ({string.Join(",", Enumerable.Range(0, Layers).Where(i => q6Layer[i]))})");
            var q4 = Enumerable.Range(0, Copies).Select(_ => MakeLayer(cuda, random, q6: false)).ToArray();
            var q6 = Enumerable.Range(0, Copies).Select(_ => MakeLayer(cuda, random, q6: true)).ToArray();
            QuantizedMatrix lmHead, embedding;
            long lmHeadBytes, embeddingBytes;
            using (var host = new QuantHostMatrices(random))
            {
                long before = cuda.QuantizedWeightBytes;
                lmHead = cuda.UploadQuantized(host.GgufRandomBytes(WeightFormat.Q6_K, Vocab, Hidden));
                lmHeadBytes = cuda.QuantizedWeightBytes - before;
                before = cuda.QuantizedWeightBytes;
                embedding = cuda.UploadQuantized(host.GgufRandomBytes(WeightFormat.Q4_K, Vocab, Hidden));
                embeddingBytes = cuda.QuantizedWeightBytes - before;
            }
            var lmHeadWeight = new LinearWeight([lmHead]);
            Console.WriteLine($"  GPU layout bytes: Q4_K layer {q4[0].Bytes.Sum() / 1e6:F1} MB, Q6_K layer {q6[0].Bytes.Sum() / 1e6:F1} MB, "
                + $"lm_head (Q6_K) {lmHeadBytes / 1e6:F1} MB, token_embd (Q4_K) {embeddingBytes / 1e6:F1} MB");

            using var memory = new BackendPair(cuda, cuda);
            var step = new StepBuffers(cuda, memory);
            if (settings is not null)
            {
                RunSettings(cuda, settings, step, q6Layer, q4, q6, lmHeadWeight, embedding);
                return;
            }
            foreach (var (kind, copies) in new[] { ("Q4_K layer", q4), ("Q6_K layer", q6) })
            {
                foreach (var (mixed, ring) in new[] { (false, false), (true, false), (true, true) })
                {
                    if (mixed && kind == "Q4_K layer" && !ring) continue;   // nothing mixes there
                    cuda.UseMixedKQuantGemv = mixed;
                    cuda.KQuantRingMaxTiles = ring ? savedRing : 0;
                    var parts = new List<string>();
                    for (int op = 0; op < OpNames.Length; op++)
                    {
                        int o = op;
                        double s = PerCopy(cuda, c => step.RunLinear(copies[c].Linears, o));
                        parts.Add($"{OpNames[op]} {s * 1e6:F1} us ({copies[0].Bytes[op] / s / 1e9:F0} GB/s)");
                    }
                    double all = PerCopy(cuda, c => { for (int op = 0; op < OpNames.Length; op++) step.RunLinear(copies[c].Linears, op); });
                    string label = kind + (kind == "Q6_K layer" ? mixed ? ", q|k|v one launch" : ", q|k|v per family" : "") + (ring ? ", g4 ring" : ", g4 registers");
                    Console.WriteLine($"  {label,-32} " + string.Join("  ", parts) + $"  | 4 linears {all * 1e6:F1} us ({copies[0].Bytes.Sum() / all / 1e9:F0} GB/s)");
                }
            }
            cuda.UseMixedKQuantGemv = savedMixed;
            cuda.KQuantRingMaxTiles = savedRing;

            double head = GraphTiming.SecondsPerReplay(cuda, () => cuda.Linear(step.Normed, lmHeadWeight, step.Logits), Replays);
            double pick = GraphTiming.SecondsPerReplay(cuda, () => cuda.ArgMaxRows(step.Logits, step.Ids), Replays);
            double lookup = GraphTiming.SecondsPerReplay(cuda, () => cuda.QuantizedEmbedding(embedding, step.Ids, step.Residual), Replays);
            Console.WriteLine($"  lm_head Q6_K [{Vocab}, {Hidden}] -> f32 logits {head * 1e6:F1} us ({lmHeadBytes / head / 1e9:F0} GB/s)  "
                + $"argmax {pick * 1e6:F1} us  token_embd Q4_K lookup {lookup * 1e6:F1} us");
            double rest = GraphTiming.SecondsPerReplay(cuda, () => { for (int l = 0; l < Layers; l++) step.RunAttentionAndNorms(l); }, Replays) / Layers;
            Console.WriteLine($"  per layer besides the linears (q/k norm+rope+kv write, attention at {Context}, 2 add+rmsnorm): {rest * 1e6:F1} us");

            for (int round = 0; round < 2; round++)
                foreach (var (mixed, ring) in new[] { (false, false), (true, false), (true, true) })
                {
                    cuda.UseMixedKQuantGemv = mixed;
                    cuda.KQuantRingMaxTiles = ring ? savedRing : 0;
                    double seconds = GraphTiming.SecondsPerReplay(cuda, () => step.RunStep(q6Layer, q4, q6, lmHeadWeight, embedding), StepReplays);
                    Console.WriteLine($"  whole step, q|k|v {(mixed ? "one launch " : "per family")}, g4 {(ring ? "ring (few tiles)" : "registers")}: {seconds * 1e3:F3} ms ({1 / seconds:F1} tok/s)");
                }
        }
        catch (Exception e) when (e is HearthException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"  gguf timing failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            cuda.UseMixedKQuantGemv = savedMixed;
            cuda.KQuantRingMaxTiles = savedRing;
        }
    }

    private static void RunSettings(CudaBackend cuda, IReadOnlyList<(string Name, Action Apply)> settings, StepBuffers step, bool[] q6Layer,
        LayerCopy[] q4, LayerCopy[] q6, LinearWeight lmHead, QuantizedMatrix embedding)
    {
        for (int round = 0; round < 2; round++)
            foreach (var (name, apply) in settings)
            {
                apply();
                foreach (var (kind, copies) in new[] { ("Q4_K layer", q4), ("Q6_K layer", q6) })
                {
                    var parts = new List<string>();
                    for (int op = 0; op < OpNames.Length; op++)
                    {
                        int o = op;
                        double s = PerCopy(cuda, c => step.RunLinear(copies[c].Linears, o));
                        parts.Add($"{OpNames[op]} {s * 1e6:F1} us ({copies[0].Bytes[op] / s / 1e9:F0} GB/s)");
                    }
                    double all = PerCopy(cuda, c => { for (int op = 0; op < OpNames.Length; op++) step.RunLinear(copies[c].Linears, op); });
                    Console.WriteLine($"  {name}, {kind}: " + string.Join("  ", parts) + $"  | 4 linears {all * 1e6:F1} us ({copies[0].Bytes.Sum() / all / 1e9:F0} GB/s)");
                }
                double seconds = GraphTiming.SecondsPerReplay(cuda, () => step.RunStep(q6Layer, q4, q6, lmHead, embedding), StepReplays);
                Console.WriteLine($"  whole step, {name}: {seconds * 1e3:F3} ms ({1 / seconds:F1} tok/s)");
                if (round == 1) StepAgainstParts(cuda, step, q6Layer, q4, q6, lmHead, embedding, seconds);
            }
    }

    // Session 11: the step against the sum of its parts, each timed alone from its own graph (the 20 + 20 layers' four
    // linears, the lm_head, the pick, the lookup, 40 layers' attention and norms), and the step's linears alone in the
    // step's order: where the step loses what the layers gain.
    private static void StepAgainstParts(CudaBackend cuda, StepBuffers step, bool[] q6Layer, LayerCopy[] q4, LayerCopy[] q6, LinearWeight lmHead,
        QuantizedMatrix embedding, double stepSeconds)
    {
        int numQ6 = q6Layer.Count(b => b);
        double q4Layer = PerCopy(cuda, c => { for (int op = 0; op < OpNames.Length; op++) step.RunLinear(q4[c].Linears, op); });
        double q6LayerS = PerCopy(cuda, c => { for (int op = 0; op < OpNames.Length; op++) step.RunLinear(q6[c].Linears, op); });
        double head = GraphTiming.SecondsPerReplay(cuda, () => cuda.Linear(step.Normed, lmHead, step.Logits), Replays);
        double pick = GraphTiming.SecondsPerReplay(cuda, () => cuda.ArgMaxRows(step.Logits, step.Ids), Replays);
        double lookup = GraphTiming.SecondsPerReplay(cuda, () => cuda.QuantizedEmbedding(embedding, step.Ids, step.Residual), Replays);
        double rest = GraphTiming.SecondsPerReplay(cuda, () => { for (int l = 0; l < Layers; l++) step.RunAttentionAndNorms(l); }, Replays);
        double linears = GraphTiming.SecondsPerReplay(cuda, () =>
        {
            for (int l = 0; l < Layers; l++)
                for (int op = 0; op < OpNames.Length; op++) step.RunLinear((q6Layer[l] ? q6 : q4)[l % Copies].Linears, op);
        }, StepReplays);
        double sum = (Layers - numQ6) * q4Layer + numQ6 * q6LayerS + head + pick + lookup + rest;
        Console.WriteLine($"    parts: Q4_K layer linears {q4Layer * 1e6:F1} us x {Layers - numQ6}, Q6_K layer {q6LayerS * 1e6:F1} us x {numQ6}, lm_head {head * 1e6:F1}, "
            + $"argmax {pick * 1e6:F1}, lookup {lookup * 1e6:F1}, attention+norms {rest * 1e3:F3} ms; sum {sum * 1e3:F3} ms against the step "
            + $"{stepSeconds * 1e3:F3} ms; the 160 linears alone in the step's order {linears * 1e3:F3} ms (their parts' sum "
            + $"{((Layers - numQ6) * q4Layer + numQ6 * q6LayerS) * 1e3:F3})");
    }

    private static double PerCopy(CudaBackend cuda, Action<int> op) =>
        GraphTiming.SecondsPerReplay(cuda, () => { for (int c = 0; c < Copies; c++) op(c); }, Replays) / Copies;

    // One decoder layer's linears in the Q4_K_M mix: q|k|v (Q4_K, Q4_K, Q4_K or Q6_K), o, gate|up, down (Q4_K or Q6_K).
    private static LayerCopy MakeLayer(CudaBackend cuda, RandomData random, bool q6)
    {
        using var host = new QuantHostMatrices(random);
        var wide = q6 ? WeightFormat.Q6_K : WeightFormat.Q4_K;
        var bytes = new long[4];
        LinearWeight Upload(int index, params QuantizedMatrix[] parts)
        {
            long before = cuda.QuantizedWeightBytes;
            var weight = new LinearWeight(parts.Select(cuda.UploadQuantized).ToArray());
            bytes[index] = cuda.QuantizedWeightBytes - before;
            return weight;
        }
        QuantizedMatrix M(WeightFormat f, int n, int k) => host.GgufRandomBytes(f, n, k);
        var linears = new[]
        {
            Upload(0, M(WeightFormat.Q4_K, Heads * HeadDim, Hidden), M(WeightFormat.Q4_K, KvRows, Hidden), M(wide, KvRows, Hidden)),
            Upload(1, M(WeightFormat.Q4_K, Hidden, Heads * HeadDim)),
            Upload(2, M(WeightFormat.Q4_K, Inter, Hidden), M(WeightFormat.Q4_K, Inter, Hidden)),
            Upload(3, M(wide, Hidden, Inter)),
        };
        return new LayerCopy(linears, bytes);
    }

    /// <summary>The activations, caches and metadata of one batch-1 decode step, as Qwen3Model allocates them.</summary>
    private sealed class StepBuffers
    {
        private readonly CudaBackend _cuda;
        private readonly Tensor _norm, _headNorm, _qkv, _q, _k, _v, _attention, _attentionFlat, _projected, _gateUp, _activated, _logitRows, _lastHidden;
        private readonly RopeParameters _rope;
        private readonly KvCacheLayer[] _caches = new KvCacheLayer[Layers];
        private readonly AttentionMetadata _metadata;

        public Tensor Normed { get; }
        public Tensor Residual { get; }
        public Tensor Logits { get; }
        public Tensor Ids { get; }

        public StepBuffers(CudaBackend cuda, BackendPair memory)
        {
            _cuda = cuda;
            Tensor Z(DType t, params int[] d) => memory.Zeros(cuda, d.Length switch
            {
                1 => new Shape(d[0]), 2 => new Shape(d[0], d[1]), 3 => new Shape(d[0], d[1], d[2]), _ => new Shape(d[0], d[1], d[2], d[3]),
            }, t);
            _norm = Z(DType.BF16, Hidden);
            _headNorm = Z(DType.BF16, HeadDim);
            _rope = new RopeParameters(Z(DType.F32, HeadDim / 2), 1f);
            Residual = Z(DType.BF16, 1, Hidden);
            Normed = Z(DType.BF16, 1, Hidden);
            _qkv = Z(DType.BF16, 1, (Heads + 2 * KvHeads) * HeadDim);
            _q = Z(DType.BF16, 1, Heads, HeadDim);
            _k = Z(DType.BF16, 1, KvHeads, HeadDim);
            _v = Z(DType.BF16, 1, KvHeads, HeadDim);
            _attention = Z(DType.BF16, 1, Heads, HeadDim);
            _attentionFlat = _attention.Reshape(new Shape(1, Heads * HeadDim));
            _projected = Z(DType.BF16, 1, Hidden);
            _gateUp = Z(DType.BF16, 1, 2 * Inter);
            _activated = Z(DType.BF16, 1, Inter);
            _lastHidden = Z(DType.BF16, 1, Hidden);
            Logits = Z(DType.F32, 1, Vocab);
            Ids = memory.Ints(cuda, [0], new Shape(1));
            _logitRows = memory.Ints(cuda, [0], new Shape(1));
            int blocks = Context / BlockSize + 1;
            for (int l = 0; l < Layers; l++)
                _caches[l] = new KvCacheLayer(Z(DType.BF16, blocks, BlockSize, KvHeads, HeadDim), Z(DType.BF16, blocks, BlockSize, KvHeads, HeadDim));
            _metadata = new AttentionMetadata
            {
                NumSeqs = 1, NumTokens = 1, MaxQueryLen = 1, MaxSeqLen = Context,
                QueryStartLocs = memory.Ints(cuda, [0, 1], new Shape(2)),
                SeqLens = memory.Ints(cuda, [Context], new Shape(1)),
                BlockTables = memory.Ints(cuda, Enumerable.Range(0, blocks).ToArray(), new Shape(1, blocks)),
                SlotMapping = memory.Ints(cuda, [Context - 1], new Shape(1)),
                Positions = memory.Ints(cuda, [Context - 1], new Shape(1)),
            };
        }

        public void RunLinear(LinearWeight[] linears, int op)
        {
            switch (op)
            {
                case 0: _cuda.Linear(Normed, linears[0], _qkv); break;
                case 1: _cuda.Linear(_attentionFlat, linears[1], _projected); break;
                case 2: _cuda.LinearSiluMul(Normed, linears[2], _gateUp, _activated); break;
                default: _cuda.Linear(_activated, linears[3], _projected); break;
            }
        }

        public void RunAttentionAndNorms(int layer)
        {
            _cuda.QkNormRopeWriteKv(_qkv, _headNorm, _headNorm, 1e-6f, _metadata.Positions, _rope, _q, _k, _v, _caches[layer], _metadata.SlotMapping);
            _cuda.Attention(_q, _caches[layer], _metadata, 0.088f, _attention);
            _cuda.AddRmsNorm(Residual, _projected, _norm, 1e-6f, Normed);
            _cuda.AddRmsNorm(Residual, _projected, _norm, 1e-6f, Normed);
        }

        // Qwen3Model.Forward's order for one greedy decode token.
        public void RunStep(bool[] q6Layer, LayerCopy[] q4, LayerCopy[] q6, LinearWeight lmHead, QuantizedMatrix embedding)
        {
            _cuda.QuantizedEmbedding(embedding, Ids, Residual);
            _cuda.RmsNorm(Residual, _norm, 1e-6f, Normed);
            int seen4 = 0, seen6 = 0;
            for (int l = 0; l < Layers; l++)
            {
                var linears = q6Layer[l] ? q6[seen6++ % Copies].Linears : q4[seen4++ % Copies].Linears;
                _cuda.Linear(Normed, linears[0], _qkv);
                _cuda.QkNormRopeWriteKv(_qkv, _headNorm, _headNorm, 1e-6f, _metadata.Positions, _rope, _q, _k, _v, _caches[l], _metadata.SlotMapping);
                _cuda.Attention(_q, _caches[l], _metadata, 0.088f, _attention);
                _cuda.Linear(_attentionFlat, linears[1], _projected);
                _cuda.AddRmsNorm(Residual, _projected, _norm, 1e-6f, Normed);
                _cuda.LinearSiluMul(Normed, linears[2], _gateUp, _activated);
                _cuda.Linear(_activated, linears[3], _projected);
                _cuda.AddRmsNorm(Residual, _projected, _norm, 1e-6f, Normed);
            }
            _cuda.GatherRows(Normed, _logitRows, _lastHidden);
            ((IBackend)_cuda).LinearArgMax(_lastHidden, lmHead, Logits, Ids);
        }
    }
}
