namespace Hearth.Engine.Scheduling;

/// <summary>
/// Owns the paged KV pool as block ids and reference counts (no tensors). Full blocks are registered in a
/// prefix cache keyed by a chained hash of their tokens; a block whose last reference goes keeps its hash
/// and contents in an LRU free list until a fresh allocation evicts it, so a later request with the same
/// prefix can take it back. Every hit is checked against the block's stored tokens and its parent block,
/// so a hash collision can only cost a miss.
/// </summary>
public sealed class BlockManager
{
    private const int NoParent = -1;
    private readonly BlockHashFunction _hash;
    private readonly int[] _refCounts; // [numBlocks]
    private readonly ulong[] _hashes; // [numBlocks] valid where _isCached
    private readonly bool[] _isCached; // [numBlocks]
    private readonly int[] _storedTokenIds; // [numBlocks, blockSize] the tokens a cached block holds
    private readonly int[] _parentBlocks; // [numBlocks] block before a cached block in the sequence that filled it
    private readonly long[] _parentGenerations; // [numBlocks] that parent's generation when registered
    private readonly long[] _generations; // [numBlocks] bumped whenever a block is handed out fresh
    private readonly Dictionary<ulong, int> _cache; // hash -> block id
    private readonly FreeBlockQueue _free;

    public BlockManager(int numBlocks, int blockSize, bool enablePrefixCaching = true)
        : this(numBlocks, blockSize, enablePrefixCaching, BlockHasher.Hash) { }

    internal BlockManager(int numBlocks, int blockSize, bool enablePrefixCaching, BlockHashFunction hash)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        EnablePrefixCaching = enablePrefixCaching;
        _hash = hash;
        _refCounts = new int[numBlocks];
        _hashes = new ulong[numBlocks];
        _isCached = new bool[numBlocks];
        _storedTokenIds = new int[checked(numBlocks * blockSize)];
        _parentBlocks = new int[numBlocks];
        _parentGenerations = new long[numBlocks];
        _generations = new long[numBlocks];
        // Sized for every block at once so registering and evicting never grow it.
        _cache = new Dictionary<ulong, int>(numBlocks);
        _free = new FreeBlockQueue(numBlocks);
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public bool EnablePrefixCaching { get; }

    /// <summary>Blocks with no reference, cached or not; all of them can be allocated.</summary>
    public int NumFreeBlocks => _free.Count;

    public int NumUsedBlocks => NumBlocks - _free.Count;

    /// <summary>Blocks currently registered in the prefix cache (in use or free).</summary>
    public int NumCachedBlocks => _cache.Count;

    /// <summary>Full blocks looked up in the prefix cache at admission.</summary>
    public long NumQueriedBlocks { get; private set; }

    /// <summary>Looked-up blocks served from the prefix cache.</summary>
    public long NumHitBlocks { get; private set; }

    /// <summary>Hash matches whose stored tokens differed: real collisions, caught by verification.</summary>
    public long NumHashCollisions { get; private set; }

    public int GetRefCount(int blockId) => _refCounts[blockId];

    public bool IsCached(int blockId) => _isCached[blockId];

    public int BlocksFor(int numTokens) => (numTokens + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Finds the longest run of cached full blocks that starts the sequence's tokens, leaving at least the
    /// last token to compute (its logits are needed). Fills <paramref name="hitBlocks"/> and returns the
    /// number of cached tokens. Takes no references: pass the hits to <see cref="TryAllocateSlots"/>.
    /// </summary>
    public int FindCachedPrefix(Sequence seq, List<int> hitBlocks)
    {
        hitBlocks.Clear();
        if (!EnablePrefixCaching) return 0;
        int maxHitBlocks = (seq.NumTokens - 1) / BlockSize;
        EnsureBlockHashes(seq, maxHitBlocks);
        ReadOnlySpan<int> tokens = seq.TokenIds;
        int parent = NoParent;
        for (int k = 0; k < maxHitBlocks; k++)
        {
            NumQueriedBlocks++;
            if (!_cache.TryGetValue(seq.BlockHashes[k], out int b)) break;
            if (!StoredTokens(b).SequenceEqual(tokens.Slice(k * BlockSize, BlockSize)))
            {
                NumHashCollisions++;
                break;
            }
            // Same tokens under a different parent: the hash chain collided earlier, or the parent was evicted.
            bool sameParent = _parentBlocks[b] == parent
                && (parent == NoParent || _parentGenerations[b] == _generations[parent]);
            if (!sameParent) break;
            hitBlocks.Add(b);
            NumHitBlocks++;
            parent = b;
        }
        return hitBlocks.Count * BlockSize;
    }

    /// <summary>
    /// Makes the block table cover the sequence's computed tokens plus <paramref name="numNewTokens"/>,
    /// first taking the prefix-cache <paramref name="hitBlocks"/> (only for a sequence with no blocks yet).
    /// All or nothing: returns false and changes nothing when the free blocks do not suffice.
    /// </summary>
    public bool TryAllocateSlots(Sequence seq, int numNewTokens, List<int>? hitBlocks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numNewTokens);
        List<int> table = seq.MutableBlockTable;
        int numHits = hitBlocks?.Count ?? 0;
        if (numHits > 0 && table.Count > 0) throw new InvalidOperationException($"Sequence {seq.Id} already has blocks; prefix hits apply only at admission.");
        int computedTokens = numHits > 0 ? numHits * BlockSize : seq.NumComputedTokens;
        int numNeeded = BlocksFor(computedTokens + numNewTokens) - table.Count - numHits;
        int numHitsNowFree = 0;
        for (int i = 0; i < numHits; i++)
        {
            if (_refCounts[hitBlocks![i]] == 0) numHitsNowFree++;
        }
        if (Math.Max(numNeeded, 0) + numHitsNowFree > _free.Count) return false;
        // Sized once for the longest this sequence can get, so decoding never grows the table.
        if (table.Count == 0) table.EnsureCapacity(BlocksFor(seq.NumPromptTokens + seq.MaxTokens));

        for (int i = 0; i < numHits; i++)
        {
            int b = hitBlocks![i];
            if (_refCounts[b]++ == 0) _free.Remove(b);
            table.Add(b);
        }
        if (numHits > 0) seq.NumRegisteredBlocks = numHits;
        for (int i = 0; i < numNeeded; i++) table.Add(TakeFreshBlock());
        return true;
    }

    /// <summary>
    /// Registers the sequence's blocks that its computed tokens now fill completely, so later requests
    /// can share them. Call after the step that computed them.
    /// </summary>
    public void CacheFullBlocks(Sequence seq)
    {
        if (!EnablePrefixCaching) return;
        int numFull = Math.Min(seq.NumComputedTokens / BlockSize, seq.BlockTable.Count);
        if (numFull <= seq.NumRegisteredBlocks) return;
        EnsureBlockHashes(seq, numFull);
        ReadOnlySpan<int> table = seq.BlockTableSpan;
        ReadOnlySpan<int> tokens = seq.TokenIds;
        for (int k = seq.NumRegisteredBlocks; k < numFull; k++)
        {
            int b = table[k];
            ulong h = seq.BlockHashes[k];
            if (_isCached[b]) continue;
            if (_cache.TryGetValue(h, out int existing))
            {
                // The same prefix computed twice, a collision, or an entry orphaned by its parent's eviction.
                // An entry in use wins (this copy stays uncached and is recycled first once freed); an idle
                // one gives way to the block just computed.
                if (_refCounts[existing] > 0) continue;
                Uncache(existing);
                _free.Remove(existing);
                _free.PushHead(existing);
            }
            _cache.Add(h, b);
            _isCached[b] = true;
            _hashes[b] = h;
            tokens.Slice(k * BlockSize, BlockSize).CopyTo(_storedTokenIds.AsSpan(b * BlockSize, BlockSize));
            int parent = k == 0 ? NoParent : table[k - 1];
            _parentBlocks[b] = parent;
            _parentGenerations[b] = parent == NoParent ? 0 : _generations[parent];
        }
        seq.NumRegisteredBlocks = numFull;
    }

    /// <summary>
    /// Drops the sequence's references. Cached blocks go to the back of the free list in reverse order,
    /// so a prompt's first blocks, shared most often, are evicted last; uncached ones are reused first.
    /// </summary>
    public void Free(Sequence seq)
    {
        List<int> table = seq.MutableBlockTable;
        for (int i = table.Count - 1; i >= 0; i--)
        {
            int b = table[i];
            if (_refCounts[b] <= 0) throw new InvalidOperationException($"Block {b} freed more often than taken.");
            if (--_refCounts[b] > 0) continue;
            if (_isCached[b]) _free.PushTail(b); else _free.PushHead(b);
        }
        table.Clear();
        seq.NumRegisteredBlocks = 0;
    }

    /// <summary>Throws if the free list disagrees with the reference counts or the cache index. For tests and debugging.</summary>
    public void CheckConsistency()
    {
        int numZero = 0;
        for (int b = 0; b < NumBlocks; b++)
        {
            if (_refCounts[b] < 0) throw new InvalidOperationException($"Block {b} has reference count {_refCounts[b]}.");
            bool isFree = _refCounts[b] == 0;
            if (isFree) numZero++;
            if (isFree != _free.Contains(b)) throw new InvalidOperationException($"Block {b} with {_refCounts[b]} references is {(isFree ? "missing from" : "in")} the free list.");
            if (_isCached[b] && (!_cache.TryGetValue(_hashes[b], out int c) || c != b)) throw new InvalidOperationException($"Cached block {b} is not indexed by its hash.");
        }
        if (numZero != _free.Count || _free.CountByWalking() != _free.Count) throw new InvalidOperationException("Free block count disagrees with the free list.");
        foreach (var (h, b) in _cache)
        {
            if (!_isCached[b] || _hashes[b] != h) throw new InvalidOperationException($"Cache entry for block {b} is stale.");
        }
    }

    private int TakeFreshBlock()
    {
        int b = _free.PopHead();
        if (_isCached[b]) Uncache(b);
        // Children registered on top of this block's old contents must stop matching.
        _generations[b]++;
        _refCounts[b] = 1;
        return b;
    }

    private void Uncache(int blockId)
    {
        _cache.Remove(_hashes[blockId]);
        _isCached[blockId] = false;
    }

    private ReadOnlySpan<int> StoredTokens(int blockId) => _storedTokenIds.AsSpan(blockId * BlockSize, BlockSize);

    private void EnsureBlockHashes(Sequence seq, int numBlocks)
    {
        List<ulong> hashes = seq.BlockHashes;
        if (hashes.Count >= numBlocks) return;
        hashes.EnsureCapacity(BlocksFor(seq.NumPromptTokens + seq.MaxTokens));
        ReadOnlySpan<int> tokens = seq.TokenIds;
        for (int k = hashes.Count; k < numBlocks; k++)
        {
            ulong parent = k == 0 ? 0 : hashes[k - 1];
            hashes.Add(_hash(parent, tokens.Slice(k * BlockSize, BlockSize)));
        }
    }
}
