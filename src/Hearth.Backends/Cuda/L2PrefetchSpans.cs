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
    /// l2_prefetch_share does: the block's share, its rows dealt out to groups of <paramref name="groupThreads"/>
    /// threads (1 for the bulk prefetch, 32 for line prefetches), a row's pieces of at most <paramref name="pieceBytes"/>
    /// taken in turn by the group's threads. The CPU mirror of the device code, for the tests.
    /// </summary>
    public readonly void ForEachPiece(long blocks, long block, int threads, int thread, int groupThreads, long pieceBytes, Action<ulong, long> piece)
    {
        long total = TotalBytes;
        if (total == 0) return;
        var (begin, end) = ShareOf(total, blocks, block);
        int groups = Math.Max(1, threads / groupThreads), group = thread / groupThreads, member = thread % groupThreads;
        if (group >= groups) return;
        long spanStart = 0, rowsBefore = 0;
        for (int i = 0; i < MaxSpans; i++)
        {
            long rowBytes = (long)_rowBytes[i], size = rowBytes * _rows[i];
            long lo = Math.Max(begin, spanStart), hi = Math.Min(end, spanStart + size);
            if (lo < hi)
            {
                long relLo = lo - spanStart, relHi = hi - spanStart;
                long firstRow = relLo / rowBytes, lastRow = (relHi - 1) / rowBytes;
                for (long row = firstRow + (group + groups - rowsBefore % groups) % groups; row <= lastRow; row += groups)
                {
                    long a = Math.Max(relLo, row * rowBytes) - row * rowBytes, b = Math.Min(relHi, (row + 1) * rowBytes) - row * rowBytes;
                    ulong rowBase = _address[i] + (ulong)row * _stride[i];
                    for (long offset = a + member * pieceBytes; offset < b; offset += groupThreads * pieceBytes)
                        piece(rowBase + (ulong)offset, Math.Min(pieceBytes, b - offset));
                }
                rowsBefore += lastRow - firstRow + 1;
            }
            spanStart += size;
        }
    }
}
