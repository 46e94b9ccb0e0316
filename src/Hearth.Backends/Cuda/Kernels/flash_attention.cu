// Prefill attention, flash-attention style on tensor cores (mma.sync m16n8k16 bf16 -> f32, sm_80+):
// block (sequence, query tile of FA_BM rows, head), four warps of 16 query rows each. Key/value tiles of
// FA_BN rows are gathered from the paged cache into shared memory (zero past the causal limit), scores and
// P*V run on tensor cores with an online softmax in F32 registers. Variable-length and causal: query row j
// of a sequence with queryLen new tokens sits at position seqLen - queryLen + j, so cached prefixes are read
// like any other keys. Cache layout [numBlocks, blockSize, kvHeads, D]; with FP8 the cache holds float8_e4m3fn
// bytes, widened to bf16 (exactly) on their way into shared memory, so the tensor-core part is unchanged.

#define FA_WARPS 4
#define FA_THREADS (32 * FA_WARPS)
#define FA_BM (16 * FA_WARPS)
#define FA_BN 64
#define FA_PAD 8

__device__ __forceinline__ void mma_16816(float* c, const unsigned int* a, const unsigned int* b)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ unsigned int pack_bf16(float lo, float hi)
{
    return (unsigned int)f32_to_bf16(lo) | ((unsigned int)f32_to_bf16(hi) << 16);
}

__device__ __forceinline__ unsigned int pack_raw(bf16_t lo, bf16_t hi) { return (unsigned int)lo | ((unsigned int)hi << 16); }

__device__ __forceinline__ unsigned int shared_address(const void* p)
{
    unsigned int address;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
    return address;
}

// Four 8x8 b16 matrices from shared memory; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(unsigned int* r, const bf16_t* rowAddress)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(rowAddress)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned int* r, const bf16_t* rowAddress)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(rowAddress)));
}

template <int D, bool LDM, bool FP8>
__device__ __forceinline__ void flash_prefill(const bf16_t* query, const void* keyCache, const void* valueCache,
    const int* queryStartLocs, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int tilesPerSeq,
    int heads, int kvHeads, int blockSize, float scale, bf16_t* out, bf16_t* smem)
{
    const int LD = D + FA_PAD;
    __shared__ long long rowOffsets[FA_BN];
    bf16_t* kTile = smem;
    bf16_t* vTile = smem + FA_BN * LD;
    // Blocks start in launch order: heads vary fastest, then sequences, then query tiles from the last (the
    // most causal keys) down, so the longest blocks go first and the short ones fill the tail of the grid.
    int linear = blockIdx.y * gridDim.x + blockIdx.x, numSeqs = gridDim.x / tilesPerSeq;
    int h = linear % heads, s = (linear / heads) % numSeqs, tile = tilesPerSeq - 1 - linear / (heads * numSeqs);
    int qStart = queryStartLocs[s], queryLen = queryStartLocs[s + 1] - qStart;
    if (tile * FA_BM >= queryLen) return;
    int seqLen = seqLens[s], firstPos = seqLen - queryLen;
    int kvh = h / (heads / kvHeads);
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    int rowBase = tile * FA_BM + warp * 16;

    unsigned int qa[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++)
    {
#pragma unroll
        for (int i = 0; i < 4; i++)
        {
            int row = rowBase + g + ((i & 1) ? 8 : 0);
            int col = kk * 16 + t * 2 + ((i & 2) ? 8 : 0);
            qa[kk][i] = row < queryLen ? *(const unsigned int*)(query + ((size_t)(qStart + row) * heads + h) * D + col) : 0u;
        }
    }
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float rowMax[2] = { HEARTH_NEG_INF, HEARTH_NEG_INF }, rowSum[2] = { 0.0f, 0.0f };
    int keyEnd = firstPos + min(queryLen, (tile + 1) * FA_BM);
    int warpLastPos = firstPos + rowBase + 15;
    int pos0 = firstPos + rowBase + g, pos1 = pos0 + 8;
    float scaleLog2 = scale * 1.4426950408889634f;
    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;

    for (int k0 = 0; k0 < keyEnd; k0 += FA_BN)
    {
        __syncthreads();
        // The tile's cache rows first (one table lookup per key, all at once), then every K/V load of the
        // tile is independent of the others and many are in flight per thread.
        if (tid < FA_BN)
        {
            int pos = k0 + tid;
            rowOffsets[tid] = pos < keyEnd ? (((long long)table[pos / blockSize] * blockSize + pos % blockSize) * kvHeads + kvh) * D : -1;
        }
        __syncthreads();
#pragma unroll
        for (int it = 0; it < FA_BN * (D / 8) / FA_THREADS; it++)
        {
            int idx = tid + it * FA_THREADS;
            int r = idx / (D / 8), c = idx % (D / 8);
            long long offset = rowOffsets[r];
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (offset >= 0 && FP8)
            {
                uint2 kb = *(const uint2*)((const unsigned char*)keyCache + offset + c * 8);
                uint2 vb = *(const uint2*)((const unsigned char*)valueCache + offset + c * 8);
                uint2 k0 = fp8x4_to_bf16x4(kb.x), k1 = fp8x4_to_bf16x4(kb.y);
                uint2 v0 = fp8x4_to_bf16x4(vb.x), v1 = fp8x4_to_bf16x4(vb.y);
                kv = make_uint4(k0.x, k0.y, k1.x, k1.y);
                vv = make_uint4(v0.x, v0.y, v1.x, v1.y);
            }
            else if (offset >= 0)
            {
                kv = *(const uint4*)((const bf16_t*)keyCache + offset + c * 8);
                vv = *(const uint4*)((const bf16_t*)valueCache + offset + c * 8);
            }
            *(uint4*)(kTile + r * LD + c * 8) = kv;
            *(uint4*)(vTile + r * LD + c * 8) = vv;
        }
        __syncthreads();
        if (k0 > warpLastPos) continue;

        float sc[FA_BN / 8][4];
#pragma unroll
        for (int n = 0; n < FA_BN / 8; n++) sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++)
        {
            if (LDM)
            {
                // Matrix i of each x4 load: keys n*8 + 8*(i >> 1) .., dims kk*16 + 8*(i & 1) ..: b of two key tiles.
                int i = lane >> 3, r = lane & 7;
#pragma unroll
                for (int n = 0; n < FA_BN / 8; n += 2)
                {
                    unsigned int b[4];
                    ldmatrix_x4(b, kTile + (n * 8 + r + 8 * (i >> 1)) * LD + kk * 16 + 8 * (i & 1));
                    mma_16816(sc[n], qa[kk], b);
                    mma_16816(sc[n + 1], qa[kk], b + 2);
                }
            }
            else
            {
#pragma unroll
                for (int n = 0; n < FA_BN / 8; n++)
                {
                    const bf16_t* kRow = kTile + (n * 8 + g) * LD + kk * 16 + t * 2;
                    unsigned int b[2] = { *(const unsigned int*)kRow, *(const unsigned int*)(kRow + 8) };
                    mma_16816(sc[n], qa[kk], b);
                }
            }
        }
        float tileMax[2] = { HEARTH_NEG_INF, HEARTH_NEG_INF };
#pragma unroll
        for (int n = 0; n < FA_BN / 8; n++)
        {
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                int key = k0 + n * 8 + t * 2 + (i & 1);
                int qpos = i < 2 ? pos0 : pos1;
                float v = key <= qpos ? sc[n][i] * scaleLog2 : HEARTH_NEG_INF;
                sc[n][i] = v;
                tileMax[i >> 1] = fmaxf(tileMax[i >> 1], v);
            }
        }
        float correction[2], base[2];
#pragma unroll
        for (int r = 0; r < 2; r++)
        {
            float m = tileMax[r];
            m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
            m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
            float newMax = fmaxf(rowMax[r], m);
            // A row that has seen no visible key yet keeps zero weights (and no NaN from -inf - -inf).
            base[r] = newMax == HEARTH_NEG_INF ? 0.0f : newMax;
            correction[r] = rowMax[r] == HEARTH_NEG_INF ? 0.0f : exp2f(rowMax[r] - base[r]);
            rowMax[r] = newMax;
            rowSum[r] *= correction[r];
        }
#pragma unroll
        for (int n = 0; n < FA_BN / 8; n++)
        {
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                float p = exp2f(sc[n][i] - base[i >> 1]);
                sc[n][i] = p;
                rowSum[i >> 1] += p;
            }
        }
#pragma unroll
        for (int n = 0; n < D / 8; n++)
        {
            o[n][0] *= correction[0]; o[n][1] *= correction[0];
            o[n][2] *= correction[1]; o[n][3] *= correction[1];
        }
#pragma unroll
        for (int kk = 0; kk < FA_BN / 16; kk++)
        {
            unsigned int pa[4] = {
                pack_bf16(sc[2 * kk][0], sc[2 * kk][1]), pack_bf16(sc[2 * kk][2], sc[2 * kk][3]),
                pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]), pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]) };
            if (LDM)
            {
                // Transposed matrix i: keys kk*16 + 8*(i & 1) .., dims n*8 + 8*(i >> 1) ..: b of two dim tiles.
                int i = lane >> 3, r = lane & 7;
#pragma unroll
                for (int n = 0; n < D / 8; n += 2)
                {
                    unsigned int b[4];
                    ldmatrix_x4_trans(b, vTile + (kk * 16 + r + 8 * (i & 1)) * LD + n * 8 + 8 * (i >> 1));
                    mma_16816(o[n], pa, b);
                    mma_16816(o[n + 1], pa, b + 2);
                }
            }
            else
            {
                const bf16_t* v0 = vTile + (kk * 16 + t * 2) * LD + g;
#pragma unroll
                for (int n = 0; n < D / 8; n++)
                {
                    const bf16_t* v = v0 + n * 8;
                    unsigned int b[2] = { pack_raw(v[0], v[LD]), pack_raw(v[8 * LD], v[9 * LD]) };
                    mma_16816(o[n], pa, b);
                }
            }
        }
    }

#pragma unroll
    for (int r = 0; r < 2; r++)
    {
        float sum = rowSum[r];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
        int row = rowBase + g + r * 8;
        if (row >= queryLen) continue;
        bf16_t* dst = out + ((size_t)(qStart + row) * heads + h) * D + t * 2;
#pragma unroll
        for (int n = 0; n < D / 8; n++)
            *(unsigned int*)(dst + n * 8) = pack_bf16(o[n][2 * r] * inverse, o[n][2 * r + 1] * inverse);
    }
}

#define FLASH_PREFILL_KERNEL(NAME, D, LDM, FP8) \
extern "C" __global__ void __launch_bounds__(FA_THREADS) NAME(const bf16_t* query, const void* keyCache, \
    const void* valueCache, const int* queryStartLocs, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, \
    int tilesPerSeq, int heads, int kvHeads, int blockSize, float scale, bf16_t* out) \
{ \
    extern __shared__ __align__(16) unsigned char flashSmem[]; \
    flash_prefill<D, LDM, FP8>(query, keyCache, valueCache, queryStartLocs, seqLens, blockTables, maxBlocksPerSeq, tilesPerSeq, \
        heads, kvHeads, blockSize, scale, out, (bf16_t*)flashSmem); \
}

// Shared-memory operands by scalar loads, and the same with ldmatrix (fewer shared-memory instructions).
FLASH_PREFILL_KERNEL(flash_prefill_d64, 64, false, false)
FLASH_PREFILL_KERNEL(flash_prefill_d128, 128, false, false)
FLASH_PREFILL_KERNEL(flash_prefill_ldm_d64, 64, true, false)
FLASH_PREFILL_KERNEL(flash_prefill_ldm_d128, 128, true, false)
// The same over a float8_e4m3fn cache.
FLASH_PREFILL_KERNEL(flash_prefill_fp8_d64, 64, false, true)
FLASH_PREFILL_KERNEL(flash_prefill_fp8_d128, 128, false, true)
FLASH_PREFILL_KERNEL(flash_prefill_ldm_fp8_d64, 64, true, true)
FLASH_PREFILL_KERNEL(flash_prefill_ldm_fp8_d128, 128, true, true)
