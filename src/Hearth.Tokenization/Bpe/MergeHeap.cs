namespace Hearth.Tokenization.Bpe;

/// <summary>A binary min-heap of candidate merges ordered by (rank, position), reused across words.</summary>
internal sealed class MergeHeap
{
    private long[] _keys = new long[64];      // [entries] rank << 32 | position
    private int[] _mergedIds = new int[64];   // [entries]
    private int _count;

    public void Clear() => _count = 0;

    public void Push(int rank, int position, int mergedId)
    {
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _mergedIds, _count * 2);
        }
        long key = ((long)rank << 32) | (uint)position;
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_keys[parent] <= key) break;
            _keys[i] = _keys[parent];
            _mergedIds[i] = _mergedIds[parent];
            i = parent;
        }
        _keys[i] = key;
        _mergedIds[i] = mergedId;
    }

    public bool TryPop(out int position, out int mergedId)
    {
        if (_count == 0)
        {
            position = 0;
            mergedId = 0;
            return false;
        }
        position = (int)_keys[0];
        mergedId = _mergedIds[0];
        long lastKey = _keys[--_count];
        int lastId = _mergedIds[_count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && _keys[child + 1] < _keys[child]) child++;
            if (_keys[child] >= lastKey) break;
            _keys[i] = _keys[child];
            _mergedIds[i] = _mergedIds[child];
            i = child;
        }
        _keys[i] = lastKey;
        _mergedIds[i] = lastId;
        return true;
    }
}
