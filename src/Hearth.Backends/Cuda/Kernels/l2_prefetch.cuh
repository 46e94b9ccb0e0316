// The next linear's weights pulled into L2 by a short decode kernel before its PDL wait, so that the bytes move while
// the memory bus would otherwise idle (the norms, q/k norm + RoPE and the decode attention read little). Weights are
// never written by a kernel, so reading them before the wait is allowed. The host (CudaBackend.L2Prefetch.cs,
// L2PrefetchSpans.cs, which mirrors the split below for its tests) passes up to L2P_MAX_SPANS spans; span i is
// rows[i] rows of rowBytes[i] bytes, stride[i] apart (a prefix of every 16-row tile of a tile-major matrix, or one
// contiguous range with rows = 1). Addresses, row sizes and strides are multiples of 16. The bytes of all spans, in
// order, are cut into one even share per block of the grid, and a block's threads take the pieces of its share in turn.
//   sm_90+: a piece is up to 16 KiB, one cp.async.bulk.prefetch.L2 (the copy engine walks it).
//   sm_80, or HEARTH_L2P_LINES: a piece is one 128-byte line, prefetch.global.L2 (prefetch_l2).
#define L2P_MAX_SPANS 8

struct L2PrefetchSpans
{
    unsigned long long address[L2P_MAX_SPANS];
    unsigned long long rowBytes[L2P_MAX_SPANS];
    unsigned long long stride[L2P_MAX_SPANS];
    unsigned int rows[L2P_MAX_SPANS];
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && !defined(HEARTH_L2P_LINES)
#define L2P_BULK 1
#define L2P_PIECE_BYTES 16384ull
#else
#define L2P_BULK 0
#define L2P_PIECE_BYTES 128ull
#endif

__device__ __forceinline__ void l2p_piece(unsigned long long address, unsigned int bytes)
{
#if L2P_BULK
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" :: "l"(address), "r"(bytes) : "memory");
#else
    (void)bytes;
    prefetch_l2((const void*)address);
#endif
}

// This block's share of the spans, issued by all its threads. A unit is one piece of one row (rows of a strided
// span are usually one piece, a contiguous span is many); the units of the share are dealt out to the threads in turn.
// Returns at once when no bytes are given.
__device__ __forceinline__ void l2_prefetch_share(const L2PrefetchSpans& spans)
{
    unsigned long long total = 0;
#pragma unroll
    for (int i = 0; i < L2P_MAX_SPANS; i++) total += spans.rowBytes[i] * spans.rows[i];
    if (total == 0) return;
    unsigned long long blocks = (unsigned long long)gridDim.x * gridDim.y * gridDim.z;
    unsigned long long block = blockIdx.x + (unsigned long long)gridDim.x * (blockIdx.y + (unsigned long long)gridDim.y * blockIdx.z);
    // Share boundaries on 16 bytes, so that every piece stays 16-byte aligned and a multiple of 16.
    unsigned long long begin = (total * block / blocks) & ~15ull;
    unsigned long long end = block + 1 == blocks ? total : (total * (block + 1) / blocks) & ~15ull;
    unsigned long long threads = blockDim.x * blockDim.y * blockDim.z;
    unsigned long long tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned long long spanStart = 0, unitsBefore = 0;
    for (int i = 0; i < L2P_MAX_SPANS; i++)
    {
        unsigned long long rowBytes = spans.rowBytes[i], size = rowBytes * spans.rows[i];
        unsigned long long lo = max(begin, spanStart), hi = min(end, spanStart + size);
        if (lo < hi)
        {
            unsigned long long relLo = lo - spanStart, relHi = hi - spanStart;
            unsigned long long firstRow = relLo / rowBytes, piecesPerRow = (rowBytes + L2P_PIECE_BYTES - 1) / L2P_PIECE_BYTES;
            unsigned long long units = ((relHi - 1) / rowBytes - firstRow + 1) * piecesPerRow;
            for (unsigned long long u = (tid + threads - unitsBefore % threads) % threads; u < units; u += threads)
            {
                unsigned long long row = firstRow + u / piecesPerRow, rowStart = row * rowBytes;
                unsigned long long a = max(relLo, rowStart + (u % piecesPerRow) * L2P_PIECE_BYTES);
                unsigned long long b = min(min(relHi, rowStart + rowBytes), rowStart + (u % piecesPerRow + 1) * L2P_PIECE_BYTES);
                if (a < b) l2p_piece(spans.address[i] + row * spans.stride[i] + (a - rowStart), (unsigned int)(b - a));
            }
            unitsBefore += units;
        }
        spanStart += size;
    }
}

// Where the decode attention (decode_mma.cu) issues its share: before its wait, ahead of its own K/V loads (the
// default), or with HEARTH_L2P_ATTENTION_AT_END after its work, so that the prefetch cannot delay its K/V loads
// (it then overlaps the attention's last blocks and the o GEMV's start instead).
#ifdef HEARTH_L2P_ATTENTION_AT_END
#define L2P_ATTENTION_BEFORE(SPANS) do { } while (0)
#define L2P_ATTENTION_AFTER(SPANS) l2_prefetch_share(SPANS)
#else
#define L2P_ATTENTION_BEFORE(SPANS) l2_prefetch_share(SPANS)
#define L2P_ATTENTION_AFTER(SPANS) do { } while (0)
#endif
