namespace Hearth.Tokenization.Bpe;

/// <summary>
/// A binary min-heap of candidate merges ordered by (rank, position), reused across words. Each entry keeps the
/// pair it was made for, so a stale entry is recognised by comparing ids instead of a second table lookup.
/// </summary>
internal sealed class MergeHeap
{
    private long[] _keys = new long[64];      // [entries] rank << 32 | position
    private Pair[] _pairs = new Pair[64];     // [entries]
    private int _count;

    public void Clear() => _count = 0;

    public void Push(int rank, int position, int leftId, int rightId, int mergedId)
    {
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _pairs, _count * 2);
        }
        var pair = new Pair(leftId, rightId, mergedId);
        long key = ((long)rank << 32) | (uint)position;
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_keys[parent] <= key) break;
            _keys[i] = _keys[parent];
            _pairs[i] = _pairs[parent];
            i = parent;
        }
        _keys[i] = key;
        _pairs[i] = pair;
    }

    public bool TryPop(out int position, out Pair pair)
    {
        if (_count == 0)
        {
            position = 0;
            pair = default;
            return false;
        }
        position = (int)_keys[0];
        pair = _pairs[0];
        long lastKey = _keys[--_count];
        var lastPair = _pairs[_count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && _keys[child + 1] < _keys[child]) child++;
            if (_keys[child] >= lastKey) break;
            _keys[i] = _keys[child];
            _pairs[i] = _pairs[child];
            i = child;
        }
        _keys[i] = lastKey;
        _pairs[i] = lastPair;
        return true;
    }

    internal readonly record struct Pair(int LeftId, int RightId, int MergedId);
}
