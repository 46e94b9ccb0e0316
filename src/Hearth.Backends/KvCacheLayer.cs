namespace Hearth.Backends;

/// <summary>
/// One layer's paged KV cache. Slot s lives in block s / BlockSize at offset s % BlockSize.
/// Key and Value are [numBlocks, blockSize, kvHeads, headDim] in the backend's KV dtype.
/// </summary>
public readonly struct KvCacheLayer
{
    public KvCacheLayer(Tensor key, Tensor value)
    {
        if (key.Shape != value.Shape || key.Shape.Rank != 4)
            throw new ArgumentException($"key {key.Shape} and value {value.Shape} must be equal and of rank 4");
        Key = key;
        Value = value;
    }

    public Tensor Key { get; }

    public Tensor Value { get; }

    public int NumBlocks => Key.Shape[0];

    public int BlockSize => Key.Shape[1];

    public int NumKvHeads => Key.Shape[2];

    public int HeadDim => Key.Shape[3];
}
