using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Paged causal grouped-query attention. An item is one sequence's kv head over a chunk of its query rows,
/// and serves every query head of that kv head's group from each key/value tile while the tile is in L1:
/// decode reads the cache once per kv head instead of once per query head. Keys are visited a tile at a time
/// (at most one cache block) with an online softmax: each head's running max, denominator and f32
/// accumulator are rescaled once per tile, so no score buffer grows with the context.
/// </summary>
internal sealed unsafe class AttentionWork : IParallelWork
{
    public const int MaxHeadDim = 1024;
    public const int MaxGroupHeads = 64;
    // The group's accumulators live on the stack: groupHeads · headDim floats at most.
    private const int MaxGroupElements = 8192;
    private const int TileKeys = 64;
    // Query rows per item: prefill splits into many items; decode rows are one item per (sequence, kv head).
    private const int RowsPerItem = 16;

    private int[] _itemStarts = new int[65]; // [numSeqs + 1] first item of each sequence; grows, never shrinks

    private CpuSimdLevel _level;
    private DType _cacheType;
    private float* _query, _output; // [tokens, heads, headDim]
    private byte* _keyCache, _valueCache; // [numBlocks, blockSize, kvHeads, headDim]
    private int* _queryStarts, _seqLens, _blockTables;
    private int _heads, _kvHeads, _headDim, _blockSize, _maxBlocksPerSeq;
    private float _scale;
    private int _numSeqs;

    public int Prepare(CpuSimdLevel level, Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output)
    {
        CpuChecks.F32(query, "attention query");
        CpuChecks.F32(output, "attention output");
        CpuChecks.SameShape(query, output, "Attention query and output");
        CpuChecks.I32(metadata.QueryStartLocs, "QueryStartLocs");
        CpuChecks.I32(metadata.SeqLens, "SeqLens");
        CpuChecks.I32(metadata.BlockTables, "BlockTables");
        KvCacheWriter.RequireCacheDType(cache);
        if (query.Shape.Rank != 3) throw new ArgumentException($"attention query {query.Shape} must be [tokens, heads, headDim]");
        int heads = query.Shape[1], headDim = query.Shape[2];
        if (headDim != cache.HeadDim || headDim > MaxHeadDim)
            throw new ArgumentException($"query head dim {headDim} does not match the cache's {cache.HeadDim} (max {MaxHeadDim})");
        if (heads % cache.NumKvHeads != 0) throw new ArgumentException($"{heads} query heads are not a multiple of {cache.NumKvHeads} kv heads");
        int groupHeads = heads / cache.NumKvHeads;
        if (groupHeads > MaxGroupHeads || groupHeads * headDim > MaxGroupElements)
            throw new ArgumentException($"{groupHeads} query heads per kv head of dim {headDim} exceed the CPU attention's limits");
        var tables = metadata.BlockTables;
        int numSeqs = metadata.NumSeqs;
        if (tables.Shape.Rank != 2 || tables.Shape[0] < numSeqs) throw new ArgumentException($"block tables {tables.Shape} do not cover {numSeqs} sequences");
        _queryStarts = (int*)metadata.QueryStartLocs.Data;
        _seqLens = (int*)metadata.SeqLens.Data;
        _blockTables = (int*)tables.Data;
        _maxBlocksPerSeq = tables.Shape[1];
        _blockSize = cache.BlockSize;
        CheckSequences(numSeqs, query.Shape[0], cache.NumBlocks);
        _level = level;
        _cacheType = cache.Key.DType;
        _query = (float*)query.Data;
        _output = (float*)output.Data;
        _keyCache = (byte*)cache.Key.Data;
        _valueCache = (byte*)cache.Value.Data;
        _heads = heads;
        _kvHeads = cache.NumKvHeads;
        _headDim = headDim;
        _scale = scale;
        return CountItems(numSeqs);
    }

    private int CountItems(int numSeqs)
    {
        if (_itemStarts.Length < numSeqs + 1) _itemStarts = new int[Math.Max(numSeqs + 1, 2 * _itemStarts.Length)];
        int items = 0;
        for (int s = 0; s < numSeqs; s++)
        {
            _itemStarts[s] = items;
            int queryLen = _queryStarts[s + 1] - _queryStarts[s];
            items += (queryLen + RowsPerItem - 1) / RowsPerItem * _kvHeads;
        }
        _itemStarts[numSeqs] = items;
        _numSeqs = numSeqs;
        return items;
    }

    /// <summary>The sequence whose items include <paramref name="item"/>: the last one starting at or before it.</summary>
    private int SequenceOf(int item)
    {
        int low = 0, high = _numSeqs - 1;
        while (low < high)
        {
            int mid = (low + high + 1) >> 1;
            if (_itemStarts[mid] <= item) low = mid;
            else high = mid - 1;
        }
        return low;
    }

    /// <summary>Every index the kernels will follow is checked here, so they can trust the metadata.</summary>
    private void CheckSequences(int numSeqs, int numTokens, int numBlocks)
    {
        // Query rows past the last sequence (padding) are allowed and left untouched.
        if (_queryStarts[0] != 0 || _queryStarts[numSeqs] > numTokens)
            throw new ArgumentException($"QueryStartLocs must start at 0 and end at most at the {numTokens} query rows");
        for (int s = 0; s < numSeqs; s++)
        {
            int queryLen = _queryStarts[s + 1] - _queryStarts[s];
            int seqLen = _seqLens[s];
            if (queryLen < 0 || queryLen > seqLen) throw new ArgumentException($"sequence {s} has {queryLen} new tokens but length {seqLen}");
            int blocks = (seqLen + _blockSize - 1) / _blockSize;
            if (blocks > _maxBlocksPerSeq) throw new ArgumentException($"sequence {s} of length {seqLen} needs {blocks} blocks, the table has {_maxBlocksPerSeq}");
            int* row = _blockTables + (nint)s * _maxBlocksPerSeq;
            for (int b = 0; b < blocks; b++)
            {
                if ((uint)row[b] >= (uint)numBlocks) throw new ArgumentException($"sequence {s} refers to block {row[b]} of {numBlocks}");
            }
        }
    }

    public void Execute(int item)
    {
        switch (_level)
        {
            case CpuSimdLevel.Vector512: ExecuteAt<Simd512, Vector512<float>>(item); break;
            case CpuSimdLevel.Vector256: ExecuteAt<Simd256, Vector256<float>>(item); break;
            case CpuSimdLevel.Vector128: ExecuteAt<Simd128, Vector128<float>>(item); break;
            default: ExecuteAt<SimdScalar, float>(item); break;
        }
    }

    private void ExecuteAt<TS, TV>(int item) where TS : ISimd<TV> where TV : struct
    {
        if (_cacheType == DType.BF16) ExecuteTyped<TS, TV, Bf16Kind>(item);
        else if (_cacheType == DType.F8E4M3) ExecuteTyped<TS, TV, Fp8Kind>(item);
        else ExecuteTyped<TS, TV, F32Kind>(item);
    }

    private void ExecuteTyped<TS, TV, TK>(int item) where TS : ISimd<TV> where TV : struct where TK : IElementKind
    {
        int seq = SequenceOf(item);
        int local = item - _itemStarts[seq];
        int kvHead = local % _kvHeads;
        int groupHeads = _heads / _kvHeads, firstHead = kvHead * groupHeads;
        int d = _headDim, blockSize = _blockSize;
        int queryStart = _queryStarts[seq];
        int queryLen = _queryStarts[seq + 1] - queryStart;
        int rowStart = local / _kvHeads * RowsPerItem;
        int rowEnd = Math.Min(rowStart + RowsPerItem, queryLen);
        int seqLen = _seqLens[seq];
        int* blockRow = _blockTables + (nint)seq * _maxBlocksPerSeq;
        int elementBytes = _cacheType.ElementSizeBytes();
        nint slotBytes = (nint)_kvHeads * d * elementBytes;
        nint headOffsetBytes = (nint)kvHead * d * elementBytes;
        float* accumulators = stackalloc float[groupHeads * d]; // [groupHeads, headDim]; Prepare bounds the size
        float* runningMax = stackalloc float[MaxGroupHeads];
        float* denominators = stackalloc float[MaxGroupHeads];
        float* weights = stackalloc float[TileKeys];
        for (int j = rowStart; j < rowEnd; j++)
        {
            int numKeys = seqLen - queryLen + j + 1;
            nint rowOffset = ((nint)(queryStart + j) * _heads + firstHead) * d; // the group's heads are adjacent
            float* q = _query + rowOffset;
            new Span<float>(accumulators, groupHeads * d).Clear();
            new Span<float>(runningMax, groupHeads).Fill(float.NegativeInfinity);
            new Span<float>(denominators, groupHeads).Clear();
            for (int key = 0; key < numKeys;)
            {
                int count = Math.Min(Math.Min(blockSize - key % blockSize, numKeys - key), TileKeys);
                nint slotStart = SlotOffset(key, blockRow, blockSize, slotBytes, headOffsetBytes);
                byte* keys = _keyCache + slotStart;
                byte* values = _valueCache + slotStart;
                // The next block lies elsewhere in the pool, where the hardware prefetcher cannot guess it: its
                // rows for this head are requested now, a tile ahead (cpu-ops parrot decode attention, one thread: 664-677 -> 488-521 us a layer).
                if (key + count < numKeys) PrefetchRows(key + count, blockRow, blockSize, slotBytes, headOffsetBytes, d * elementBytes);
                for (int g = 0; g < groupHeads; g++)
                {
                    float* qg = q + (nint)g * d;
                    float* accumulator = accumulators + (nint)g * d;
                    float tileMax = Scores<TS, TV, TK>(qg, keys, (int)slotBytes, count, d, _scale, weights);
                    float newMax = tileMax > runningMax[g] ? tileMax : runningMax[g];
                    float correction = MathF.Exp(runningMax[g] - newMax);
                    if (correction != 1f)
                    {
                        denominators[g] *= correction;
                        Scale<TS, TV>(accumulator, correction, d);
                    }
                    denominators[g] += ExpShifted<TS, TV>(weights, newMax, count);
                    AccumulateValues<TS, TV, TK>(accumulator, weights, values, slotBytes, count, d);
                    runningMax[g] = newMax;
                }
                key += count;
            }
            for (int g = 0; g < groupHeads; g++)
            {
                float* accumulator = accumulators + (nint)g * d;
                Scale<TS, TV>(accumulator, 1f / denominators[g], d);
                Buffer.MemoryCopy(accumulator, _output + rowOffset + (nint)g * d, (long)d * sizeof(float), (long)d * sizeof(float));
            }
        }
    }

    /// <summary>Prefetches the key and value rows of one head for the tile starting at key (up to the block's end).</summary>
    private void PrefetchRows(int key, int* blockRow, int blockSize, nint slotBytes, nint headOffsetBytes, int rowBytes)
    {
        nint slotStart = SlotOffset(key, blockRow, blockSize, slotBytes, headOffsetBytes);
        for (int t = key % blockSize; t < blockSize; t++, slotStart += slotBytes)
        {
            RowKernels.Prefetch(_keyCache + slotStart, rowBytes);
            RowKernels.Prefetch(_valueCache + slotStart, rowBytes);
        }
    }

    /// <summary>Byte offset in the cache of key's slot for one head: its block from the sequence's table, then its row.</summary>
    private static nint SlotOffset(int key, int* blockRow, int blockSize, nint slotBytes, nint headOffsetBytes) =>
        ((nint)blockRow[key / blockSize] * blockSize + key % blockSize) * slotBytes + headOffsetBytes;

    /// <summary>x[t] ← e^(x[t] − shift) for t &lt; n; returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpShifted<TS, TV>(float* x, float shift, int n) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        TV s = TS.Broadcast(shift), sum = TS.Zero;
        int i = 0;
        for (; i + c <= n; i += c)
        {
            TV e = TS.Exp(TS.Subtract(TS.Load(x + i), s));
            TS.Store(x + i, e);
            sum = TS.Add(sum, e);
        }
        float total = TS.Sum(sum);
        for (; i < n; i++)
        {
            x[i] = MathF.Exp(x[i] - shift);
            total += x[i];
        }
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TS, TV>(float* x, float factor, int n) where TS : ISimd<TV> where TV : struct
    {
        int c = TS.Count;
        TV f = TS.Broadcast(factor);
        int i = 0;
        for (; i + c <= n; i += c) TS.Store(x + i, TS.Multiply(TS.Load(x + i), f));
        for (; i < n; i++) x[i] *= factor;
    }

    /// <summary>scores[t] = scale · (q · k_t) for the tile's keys, four keys per pass over q; returns their max.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scores<TS, TV, TK>(float* q, byte* keys, int slotBytes, int count, int d, float scale, float* scores)
        where TS : ISimd<TV> where TV : struct where TK : IElementKind
    {
        int t = 0;
        for (; t + 4 <= count; t += 4) LinearKernels.Dot1x4<TS, TV, TK>(keys + (nint)t * slotBytes, slotBytes, q, d, scores + t);
        for (; t < count; t++) scores[t] = LinearKernels.Dot<TS, TV, TK>(keys + (nint)t * slotBytes, q, d);
        // A compare, not MathF.Max: its NaN and signed-zero rules make a slow dependency chain across keys.
        float max = float.NegativeInfinity;
        for (t = 0; t < count; t++)
        {
            float score = scores[t] * scale;
            scores[t] = score;
            if (score > max) max = score;
        }
        return max;
    }

    /// <summary>
    /// accumulator += Σ_t weights[t] · v_t. Each slice of the accumulator stays in registers across the tile's
    /// keys: storing it after every key would make the next key's loads wait on those stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateValues<TS, TV, TK>(float* accumulator, float* weights, byte* values, nint slotBytes, int count, int d)
        where TS : ISimd<TV> where TV : struct where TK : IElementKind
    {
        int c = TS.Count;
        int i = 0;
        for (; i + c <= d; i += c)
        {
            // Four partial sums, so the FMAs of consecutive keys do not wait on each other.
            TV a0 = TS.Load(accumulator + i), a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
            byte* v = values;
            int t = 0;
            for (; t + 4 <= count; t += 4, v += 4 * slotBytes)
            {
                a0 = TS.MultiplyAdd(TK.Load<TS, TV>(v, i), TS.Broadcast(weights[t]), a0);
                a1 = TS.MultiplyAdd(TK.Load<TS, TV>(v + slotBytes, i), TS.Broadcast(weights[t + 1]), a1);
                a2 = TS.MultiplyAdd(TK.Load<TS, TV>(v + 2 * slotBytes, i), TS.Broadcast(weights[t + 2]), a2);
                a3 = TS.MultiplyAdd(TK.Load<TS, TV>(v + 3 * slotBytes, i), TS.Broadcast(weights[t + 3]), a3);
            }
            for (; t < count; t++, v += slotBytes) a0 = TS.MultiplyAdd(TK.Load<TS, TV>(v, i), TS.Broadcast(weights[t]), a0);
            TS.Store(accumulator + i, TS.Add(TS.Add(a0, a1), TS.Add(a2, a3)));
        }
        for (; i < d; i++)
        {
            float sum = accumulator[i];
            for (int t = 0; t < count; t++) sum += TK.LoadScalar(values + t * slotBytes, i) * weights[t];
            accumulator[i] = sum;
        }
    }
}
