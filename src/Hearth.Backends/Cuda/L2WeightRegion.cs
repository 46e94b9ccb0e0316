namespace Hearth.Backends.Cuda;

/// <summary>
/// One device buffer region of a linear's weights, for the L2 prefetch plan (<see cref="L2PrefetchPlan"/>): either
/// <see cref="Tiles"/> 16-row tiles of <see cref="Bytes"/> each, back to back (tile-major quantized data, or per-tile
/// params), whose first tile is tile <see cref="FirstTile"/> of the decode GEMV's grid; or, with <see cref="Tiles"/> 0,
/// one contiguous range of <see cref="Bytes"/> (fp8 block scales, a permutation, a dense matrix).
/// </summary>
internal readonly record struct L2WeightRegion(ulong Address, long Bytes, int Tiles, int FirstTile)
{
    public bool IsTiled => Tiles > 0;

    public long TotalBytes => IsTiled ? Bytes * Tiles : Bytes;

    public static L2WeightRegion Contiguous(ulong address, long bytes) => new(address, bytes, 0, 0);
}
