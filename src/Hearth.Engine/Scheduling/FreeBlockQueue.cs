namespace Hearth.Engine.Scheduling;

/// <summary>
/// Free blocks in eviction order, as an intrusive doubly linked list over block ids: the head is taken
/// first. O(1) push at either end, pop, and removal from the middle (a prefix-cache hit on a free block).
/// </summary>
internal sealed class FreeBlockQueue
{
    private const int None = -1;
    private readonly int[] _prev; // [numBlocks]
    private readonly int[] _next; // [numBlocks]
    private readonly bool[] _inQueue; // [numBlocks]
    private int _head = None;
    private int _tail = None;

    public FreeBlockQueue(int numBlocks)
    {
        _prev = new int[numBlocks];
        _next = new int[numBlocks];
        _inQueue = new bool[numBlocks];
        for (int b = 0; b < numBlocks; b++) PushTail(b);
    }

    public int Count { get; private set; }

    public bool Contains(int blockId) => _inQueue[blockId];

    public int PopHead()
    {
        if (_head == None) throw new InvalidOperationException("No free KV blocks left.");
        int b = _head;
        Remove(b);
        return b;
    }

    public void PushTail(int blockId)
    {
        CheckAbsent(blockId);
        _prev[blockId] = _tail;
        _next[blockId] = None;
        if (_tail == None) _head = blockId; else _next[_tail] = blockId;
        _tail = blockId;
        _inQueue[blockId] = true;
        Count++;
    }

    public void PushHead(int blockId)
    {
        CheckAbsent(blockId);
        _prev[blockId] = None;
        _next[blockId] = _head;
        if (_head == None) _tail = blockId; else _prev[_head] = blockId;
        _head = blockId;
        _inQueue[blockId] = true;
        Count++;
    }

    public void Remove(int blockId)
    {
        if (!_inQueue[blockId]) throw new InvalidOperationException($"Block {blockId} is not free.");
        int p = _prev[blockId], n = _next[blockId];
        if (p == None) _head = n; else _next[p] = n;
        if (n == None) _tail = p; else _prev[n] = p;
        _inQueue[blockId] = false;
        Count--;
    }

    /// <summary>Walks the list and returns its length, for invariant checks.</summary>
    public int CountByWalking()
    {
        int n = 0;
        for (int b = _head; b != None; b = _next[b])
        {
            if (!_inQueue[b] || ++n > _prev.Length) throw new InvalidOperationException("Free block list is corrupt.");
        }
        return n;
    }

    private void CheckAbsent(int blockId)
    {
        if (_inQueue[blockId]) throw new InvalidOperationException($"Block {blockId} is already free.");
    }
}
