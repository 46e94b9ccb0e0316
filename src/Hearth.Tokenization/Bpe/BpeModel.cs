using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Byte-level BPE over one pre-token: the bytes start as single-byte tokens and the lowest-ranked adjacent pair
/// is merged first (leftmost on ties), exactly as HF tokenizers' Word::merge_all orders its priority queue.
/// </summary>
internal sealed class BpeModel
{
    private readonly int[] _byteToId;                 // [256] id of each single-byte token, -1 when absent
    private readonly MergeTable _merges;
    private readonly long[] _bytePairMerges;          // [256 * 256] rank << 32 | mergedId of two single-byte tokens, -1 if none
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly bool _ignoreMerges;

    [ThreadStatic] private static Scratch? _scratch;

    public BpeModel(Dictionary<string, int> vocab, MergeTable merges, bool ignoreMerges)
    {
        _merges = merges;
        _ignoreMerges = ignoreMerges;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _byteToId = new int[256];
        Span<char> one = stackalloc char[1];
        for (int b = 0; b < 256; b++)
        {
            one[0] = ByteLevelAlphabet.ByteToChar((byte)b);
            _byteToId[b] = _vocabBySpan.TryGetValue(one, out int id) ? id : -1;
        }
        // Every word starts as bytes, so its first round of lookups hits this small table instead of the large one.
        _bytePairMerges = new long[256 * 256];
        for (int left = 0; left < 256; left++)
        for (int right = 0; right < 256; right++)
        {
            _bytePairMerges[left << 8 | right] = _byteToId[left] >= 0 && _byteToId[right] >= 0
                && merges.TryGet(_byteToId[left], _byteToId[right], out int rank, out int merged)
                    ? ((long)rank << 32) | (uint)merged
                    : -1;
        }
    }

    /// <summary>Appends the ids of one pre-token, given as UTF-8 bytes. Compiled fully optimized from the first call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EncodeWord(ReadOnlySpan<byte> utf8, List<int> output)
    {
        if (_ignoreMerges && TryWholeWord(utf8, output)) return;

        var s = _scratch ??= new Scratch();
        s.Ensure(utf8.Length);
        int[] ids = s.Ids, next = s.Next, prev = s.Prev;
        var bytes = s.Bytes;
        int count = 0;
        foreach (byte b in utf8)
        {
            int id = _byteToId[b];
            if (id < 0) continue;             // without an unknown token HF drops bytes it has no token for
            bytes[count] = b;
            ids[count++] = id;
        }
        if (count <= 1)
        {
            if (count == 1) output.Add(ids[0]);
            return;
        }

        for (int i = 0; i < count; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1;
        }
        var heap = s.Heap;
        heap.Clear();
        for (int i = 0; i + 1 < count; i++)
        {
            long merge = _bytePairMerges[bytes[i] << 8 | bytes[i + 1]];
            if (merge >= 0) heap.Push((int)(merge >> 32), i, ids[i], ids[i + 1], (int)merge);
        }

        while (heap.TryPop(out int pos, out var pair))
        {
            int right = next[pos];
            // Stale entries: the symbol was absorbed or the pair at pos changed since the entry was pushed. A symbol
            // only grows rightwards, so an unchanged pair of ids is the same pair (HF compares the merged id instead).
            if (right >= count || ids[pos] != pair.LeftId || ids[right] != pair.RightId) continue;
            int mergedId = pair.MergedId;

            ids[pos] = mergedId;
            ids[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after < count) prev[after] = pos;

            int before = prev[pos];
            if (before >= 0 && _merges.TryGet(ids[before], mergedId, out int r1, out int m1))
                heap.Push(r1, before, ids[before], mergedId, m1);
            if (after < count && _merges.TryGet(mergedId, ids[after], out int r2, out int m2))
                heap.Push(r2, pos, mergedId, ids[after], m2);
        }

        for (int i = 0; i < count; i = next[i]) output.Add(ids[i]);
    }

    // ignore_merges (Llama 3): a pre-token that is itself in the vocabulary is emitted whole.
    private bool TryWholeWord(ReadOnlySpan<byte> utf8, List<int> output)
    {
        if (utf8.Length > 256) return false;
        Span<char> chars = stackalloc char[utf8.Length];
        for (int i = 0; i < utf8.Length; i++) chars[i] = ByteLevelAlphabet.ByteToChar(utf8[i]);
        if (!_vocabBySpan.TryGetValue(chars, out int id)) return false;
        output.Add(id);
        return true;
    }

    private sealed class Scratch
    {
        public int[] Ids = new int[64];    // [symbols] token id per symbol, -1 once merged away
        public int[] Next = new int[64];   // [symbols]
        public int[] Prev = new int[64];   // [symbols]
        public byte[] Bytes = new byte[64]; // [symbols] the byte each symbol started as
        public readonly MergeHeap Heap = new();

        public void Ensure(int length)
        {
            if (Ids.Length >= length) return;
            int size = Math.Max(length, Ids.Length * 2);
            Ids = new int[size];
            Next = new int[size];
            Prev = new int[size];
            Bytes = new byte[size];
        }
    }
}
