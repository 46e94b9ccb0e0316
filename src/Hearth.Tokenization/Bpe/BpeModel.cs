namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Byte-level BPE over one pre-token: the bytes start as single-byte tokens and the lowest-ranked adjacent pair
/// is merged first (leftmost on ties), exactly as HF tokenizers' Word::merge_all orders its priority queue.
/// </summary>
internal sealed class BpeModel
{
    private readonly int[] _byteToId;                 // [256] id of each single-byte token, -1 when absent
    private readonly MergeTable _merges;
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
    }

    /// <summary>Appends the ids of one pre-token, given as UTF-8 bytes.</summary>
    public void EncodeWord(ReadOnlySpan<byte> utf8, List<int> output)
    {
        if (_ignoreMerges && TryWholeWord(utf8, output)) return;

        var s = _scratch ??= new Scratch();
        s.Ensure(utf8.Length);
        int[] ids = s.Ids, next = s.Next, prev = s.Prev;
        int count = 0;
        foreach (byte b in utf8)
        {
            int id = _byteToId[b];
            if (id >= 0) ids[count++] = id;   // without an unknown token HF drops bytes it has no token for
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
            if (_merges.TryGet(ids[i], ids[i + 1], out int rank, out int merged)) heap.Push(rank, i, merged);

        while (heap.TryPop(out int pos, out int mergedId))
        {
            if (ids[pos] < 0) continue;                       // absorbed into its left neighbour
            int right = next[pos];
            if (right >= count) continue;
            // Stale entries: the pair at pos changed since the entry was pushed.
            if (!_merges.TryGet(ids[pos], ids[right], out _, out int currentMerged) || currentMerged != mergedId) continue;

            ids[pos] = mergedId;
            ids[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after < count) prev[after] = pos;

            int before = prev[pos];
            if (before >= 0 && _merges.TryGet(ids[before], mergedId, out int r1, out int m1)) heap.Push(r1, before, m1);
            if (after < count && _merges.TryGet(mergedId, ids[after], out int r2, out int m2)) heap.Push(r2, pos, m2);
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
        public readonly MergeHeap Heap = new();

        public void Ensure(int length)
        {
            if (Ids.Length >= length) return;
            int size = Math.Max(length, Ids.Length * 2);
            Ids = new int[size];
            Next = new int[size];
            Prev = new int[size];
        }
    }
}
