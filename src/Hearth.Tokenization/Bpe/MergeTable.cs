using System.Numerics;
using System.Runtime.CompilerServices;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// (leftId, rightId) → (rank, mergedId) as an open-addressing hash table over packed long keys: the BPE inner
/// loop looks pairs up constantly, and this avoids the overhead of a general Dictionary.
/// </summary>
internal sealed class MergeTable
{
    private const long EmptyKey = -1;

    // [capacity] key and value side by side, so that a lookup touches one cache line: the table is larger than L2.
    private readonly Entry[] _entries;
    private readonly int _mask;
    private readonly int _shift;

    public MergeTable(int expectedCount)
    {
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expectedCount * 2));
        _entries = new Entry[capacity];
        Array.Fill(_entries, new Entry { Key = EmptyKey });
        _mask = capacity - 1;
        _shift = 64 - BitOperations.Log2((uint)capacity);
    }

    public int Count { get; private set; }

    /// <summary>Adds a merge; a pair listed twice keeps its later entry, as HF's map collection does.</summary>
    public void Set(int leftId, int rightId, int rank, int mergedId)
    {
        long key = Pack(leftId, rightId);
        int slot = Slot(key);
        while (_entries[slot].Key != EmptyKey && _entries[slot].Key != key) slot = (slot + 1) & _mask;
        if (_entries[slot].Key == EmptyKey) Count++;
        _entries[slot] = new Entry { Key = key, Value = ((long)rank << 32) | (uint)mergedId };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(int leftId, int rightId, out int rank, out int mergedId)
    {
        long key = Pack(leftId, rightId);
        int slot = Slot(key);
        while (true)
        {
            ref readonly Entry entry = ref _entries[slot];
            long k = entry.Key;
            if (k == key)
            {
                long v = entry.Value;
                rank = (int)(v >> 32);
                mergedId = (int)v;
                return true;
            }
            if (k == EmptyKey)
            {
                rank = 0;
                mergedId = 0;
                return false;
            }
            slot = (slot + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Pack(int leftId, int rightId) => ((long)leftId << 32) | (uint)rightId;

    // Fibonacci hashing spreads the packed ids over the table.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> _shift) & _mask;

    private struct Entry
    {
        public long Key;     // packed (left << 32 | right), EmptyKey where free
        public long Value;   // packed (rank << 32 | mergedId)
    }
}
