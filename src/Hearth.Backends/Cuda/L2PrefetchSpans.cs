using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda;

/// <summary>
/// The weights a short decode kernel pulls into L2 before its PDL wait, passed by value as its last argument
/// (<c>struct L2PrefetchSpans</c> in Kernels/l2_prefetch.cuh, the same layout: 224 bytes). Span i is
/// <see cref="RowsOf"/> rows of <see cref="RowBytesOf"/> bytes, <see cref="StrideOf"/> apart: a prefix of every
/// 16-row tile of a tile-major matrix, or one contiguous range (one row). Addresses, row sizes and strides are
/// multiples of 16, which <see cref="TryAdd"/> enforces by rounding sizes down.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct L2PrefetchSpans
{
    /// <summary>Spans one kernel argument holds (L2P_MAX_SPANS).</summary>
    public const int MaxSpans = 8;

    /// <summary>Bytes of the device struct.</summary>
    public const int SizeBytes = MaxSpans * (3 * sizeof(ulong) + sizeof(uint));

    private fixed ulong _address[MaxSpans];
    private fixed ulong _rowBytes[MaxSpans];
    private fixed ulong _stride[MaxSpans];
    private fixed uint _rows[MaxSpans];

    /// <summary>Spans in use (the first ones; the rest have no rows).</summary>
    public readonly int Count
    {
        get
        {
            int count = 0;
            for (int i = 0; i < MaxSpans; i++) if (_rows[i] != 0 && _rowBytes[i] != 0) count = i + 1;
            return count;
        }
    }

    public readonly ulong AddressOf(int span) => _address[span];

    public readonly ulong RowBytesOf(int span) => _rowBytes[span];

    public readonly ulong StrideOf(int span) => _stride[span];

    public readonly uint RowsOf(int span) => _rows[span];

    /// <summary>Bytes of all spans.</summary>
    public readonly long TotalBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < MaxSpans; i++) total += (long)(_rowBytes[i] * _rows[i]);
            return total;
        }
    }

    public readonly bool IsEmpty => TotalBytes == 0;

    /// <summary>
    /// Appends <paramref name="rows"/> rows of <paramref name="rowBytes"/> (rounded down to 16) at <paramref name="address"/>,
    /// <paramref name="stride"/> apart. False when the span is full or the address or stride is not 16-byte aligned
    /// (nothing is added then); an empty span is skipped and counts as added.
    /// </summary>
    public bool TryAdd(ulong address, long rowBytes, long stride, int rows)
    {
        rowBytes &= ~15L;
        if (rowBytes <= 0 || rows <= 0) return true;
        if (address % 16 != 0 || (rows > 1 && (stride % 16 != 0 || stride < rowBytes))) return false;
        int slot = Count;
        if (slot == MaxSpans) return false;
        _address[slot] = address;
        _rowBytes[slot] = (ulong)rowBytes;
        _stride[slot] = rows > 1 ? (ulong)stride : (ulong)rowBytes;
        _rows[slot] = (uint)rows;
        return true;
    }

    /// <summary>Block <paramref name="block"/>'s share [Begin, End) of <paramref name="totalBytes"/> over <paramref name="blocks"/> blocks, as the kernels cut it.</summary>
    public static (long Begin, long End) ShareOf(long totalBytes, long blocks, long block)
    {
        long begin = (long)((ulong)totalBytes * (ulong)block / (ulong)blocks) & ~15L;
        long end = block + 1 == blocks ? totalBytes : (long)((ulong)totalBytes * (ulong)(block + 1) / (ulong)blocks) & ~15L;
        return (begin, end);
    }

    /// <summary>
    /// The pieces (address, bytes) thread <paramref name="thread"/> of block <paramref name="block"/> issues, as
    /// l2_prefetch_share does: the block's share, cut into units of one piece (at most <paramref name="pieceBytes"/>:
    /// 16 KiB for the bulk prefetch, a 128-byte line otherwise) of one row, dealt out to the block's threads in turn.
    /// The CPU mirror of the device code, for the tests.
    /// </summary>
    public readonly void ForEachPiece(long blocks, long block, int threads, int thread, long pieceBytes, Action<ulong, long> piece)
    {
        long total = TotalBytes;
        if (total == 0) return;
        var (begin, end) = ShareOf(total, blocks, block);
        long spanStart = 0, unitsBefore = 0;
        for (int i = 0; i < MaxSpans; i++)
        {
            long rowBytes = (long)_rowBytes[i], size = rowBytes * _rows[i];
            long lo = Math.Max(begin, spanStart), hi = Math.Min(end, spanStart + size);
            if (lo < hi)
            {
                long relLo = lo - spanStart, relHi = hi - spanStart;
                long firstRow = relLo / rowBytes, piecesPerRow = (rowBytes + pieceBytes - 1) / pieceBytes;
                long units = ((relHi - 1) / rowBytes - firstRow + 1) * piecesPerRow;
                for (long u = (thread + threads - unitsBefore % threads) % threads; u < units; u += threads)
                {
                    long row = firstRow + u / piecesPerRow, rowStart = row * rowBytes;
                    long a = Math.Max(relLo, rowStart + u % piecesPerRow * pieceBytes);
                    long b = Math.Min(Math.Min(relHi, rowStart + rowBytes), rowStart + (u % piecesPerRow + 1) * pieceBytes);
                    if (a < b) piece(_address[i] + (ulong)row * _stride[i] + (ulong)(a - rowStart), b - a);
                }
                unitsBefore += units;
            }
            spanStart += size;
        }
    }
}
