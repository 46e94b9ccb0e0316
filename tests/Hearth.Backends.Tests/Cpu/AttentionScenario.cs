using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>
/// A batch of sequences whose keys and values sit in randomly chosen (non-contiguous, shuffled) cache blocks,
/// written through WriteKvCache, then attended and compared with a double-precision softmax.
/// </summary>
internal sealed class AttentionScenario
{
    private readonly CpuSimdLevel _level;
    private readonly int _kvHeads, _heads, _headDim, _blockSize;
    private readonly DType _cacheType;
    private readonly (int SeqLen, int QueryLen)[] _sequences;
    private readonly Random _random;

    public AttentionScenario(CpuSimdLevel level, int kvHeads, int ratio, int headDim, int blockSize, DType cacheType,
        (int SeqLen, int QueryLen)[] sequences, int seed)
    {
        _level = level;
        _kvHeads = kvHeads;
        _heads = kvHeads * ratio;
        _headDim = headDim;
        _blockSize = blockSize;
        _cacheType = cacheType;
        _sequences = sequences;
        _random = new Random(seed);
    }

    public void Check(double relative)
    {
        using var arena = new TestArena(_level);
        int d = _headDim, numSeqs = _sequences.Length;
        var blocksNeeded = _sequences.Select(s => (s.SeqLen + _blockSize - 1) / _blockSize).ToArray();
        int maxBlocks = blocksNeeded.Max() + 1;
        int numBlocks = blocksNeeded.Sum() + 7;
        var freeBlocks = Enumerable.Range(0, numBlocks).OrderBy(_ => _random.Next()).ToArray();
        var tables = new int[numSeqs * maxBlocks];
        Array.Fill(tables, -1);
        int next = 0;
        for (int s = 0; s < numSeqs; s++)
            for (int b = 0; b < blocksNeeded[s]; b++) tables[s * maxBlocks + b] = freeBlocks[next++];

        // Every token of every sequence, cached and new, written to its slot.
        int totalTokens = _sequences.Sum(s => s.SeqLen);
        int rowLen = _kvHeads * d;
        var keys = TestArena.Random(_random, totalTokens * rowLen);
        var values = TestArena.Random(_random, totalTokens * rowLen);
        var slots = new int[totalTokens];
        var firstToken = new int[numSeqs];
        for (int s = 0, t = 0; s < numSeqs; s++)
        {
            firstToken[s] = t;
            for (int p = 0; p < _sequences[s].SeqLen; p++, t++)
                slots[t] = tables[s * maxBlocks + p / _blockSize] * _blockSize + p % _blockSize;
        }
        var cacheShape = new Shape(numBlocks, _blockSize, _kvHeads, d);
        var cache = new KvCacheLayer(arena.Zeros(_cacheType, cacheShape), arena.Zeros(_cacheType, cacheShape));
        arena.Backend.WriteKvCache(arena.F32(keys, new Shape(totalTokens, _kvHeads, d)), arena.F32(values, new Shape(totalTokens, _kvHeads, d)),
            cache, arena.I32(slots, new Shape(totalTokens)));
        if (_cacheType == DType.F8E4M3)
        {
            // The reference attends over what an e4m3 cache holds.
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = Float8E4M3.ToSingle(Float8E4M3.FromSingle(keys[i]));
                values[i] = Float8E4M3.ToSingle(Float8E4M3.FromSingle(values[i]));
            }
        }
        if (_cacheType == DType.BF16)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(keys[i]));
                values[i] = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(values[i]));
            }
        }

        var queryStarts = new int[numSeqs + 1];
        for (int s = 0; s < numSeqs; s++) queryStarts[s + 1] = queryStarts[s] + _sequences[s].QueryLen;
        int numTokens = queryStarts[numSeqs];
        var query = TestArena.Random(_random, numTokens * _heads * d, 3f);
        var metadata = new AttentionMetadata
        {
            NumSeqs = numSeqs,
            NumTokens = numTokens,
            MaxQueryLen = _sequences.Max(s => s.QueryLen),
            MaxSeqLen = _sequences.Max(s => s.SeqLen),
            QueryStartLocs = arena.I32(queryStarts, new Shape(numSeqs + 1)),
            SeqLens = arena.I32(_sequences.Select(s => s.SeqLen).ToArray(), new Shape(numSeqs)),
            BlockTables = arena.I32(tables, new Shape(numSeqs, maxBlocks)),
        };
        var output = arena.Zeros(DType.F32, new Shape(numTokens, _heads, d));
        float scale = 1f / MathF.Sqrt(d);

        arena.Backend.Attention(arena.F32(query, new Shape(numTokens, _heads, d)), cache, metadata, scale, output);

        var y = arena.Read(output);
        int group = _heads / _kvHeads;
        for (int s = 0; s < numSeqs; s++)
        {
            var (seqLen, queryLen) = _sequences[s];
            for (int j = 0; j < queryLen; j++)
            {
                int row = queryStarts[s] + j, numKeys = seqLen - queryLen + j + 1;
                for (int h = 0; h < _heads; h++)
                {
                    int kvHead = h / group;
                    var scores = new double[numKeys];
                    for (int p = 0; p < numKeys; p++)
                    {
                        double dot = 0;
                        for (int i = 0; i < d; i++)
                            dot += (double)query[(row * _heads + h) * d + i] * keys[(firstToken[s] + p) * rowLen + kvHead * d + i];
                        scores[p] = dot * scale;
                    }
                    double max = scores.Max();
                    var weights = scores.Select(v => Math.Exp(v - max)).ToArray();
                    double total = weights.Sum();
                    for (int i = 0; i < d; i++)
                    {
                        double expected = 0, magnitude = 0;
                        for (int p = 0; p < numKeys; p++)
                        {
                            double term = weights[p] / total * values[(firstToken[s] + p) * rowLen + kvHead * d + i];
                            expected += term;
                            magnitude += Math.Abs(term);
                        }
                        CpuCases.Near(expected, y[(row * _heads + h) * d + i], magnitude, relative, $"seq {s} row {j} head {h} dim {i}");
                    }
                }
            }
        }
    }
}
