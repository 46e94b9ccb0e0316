// Decode attention on tensor cores, pipelined (layout and MMA helpers in decode_mma.cuh).

#include "decode_mma.cuh"

// The pipelined variant (decode_mma_pipe): the same math, split rule and end as decode_mma, but each warp's tiles
// of 16 key rows and 16 value rows go through a STAGES-deep ring in shared memory filled by cp.async (sm_80+), so
// the next rounds' loads are in flight while this round's MMAs run and the tiles hold no registers. The block
// table entry of the round after the next one is read one round early, so no round waits on it.
// Shared-memory reads stay conflict-free: a lane takes its quarter of a key row as the 16-byte chunks t, t+4, t+8,
// ... (interleaved; the query uses the same permutation, so the dot product is unchanged), and chunk c of tile row
// r lives at chunk c ^ dm_swizzle(r): the 8 lanes of a 16-byte load phase then hit 8 different bank groups both for
// the key reads (rows g, g+1, four chunks) and the value reads (rows 2t + const, two chunks).

__device__ __forceinline__ unsigned int dm_smem_addr(const void* p)
{
    unsigned int a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// 16 bytes global -> shared through L2 only: a key or value row is read once per launch.
__device__ __forceinline__ void dm_cp16(void* dst, const void* src)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(dm_smem_addr(dst)), "l"(src) : "memory");
}

__device__ __forceinline__ void dm_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

template <int N>
__device__ __forceinline__ void dm_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

// Bits 0..2 of a tile row to XOR into the low three bits of its chunk index: rows r and r^1 differ in bit 2 (key
// reads), rows 2t and 2t' (t, t' < 4) differ in bits 0/2 only (value reads, whose chunks differ in bit 1).
__device__ __forceinline__ int dm_swizzle(int r) { return ((r & 1) << 2) ^ ((r >> 1) & 1) ^ (((r >> 2) & 1) << 2); }

// Element offset of key `c0 + (lane & 15)`'s row (clamped to the range's last key, so every load is valid).
__device__ __forceinline__ long long dm_key_row(const int* table, int begin, int count, int c0, int lane,
    int blockSize, int kvHeads, int kvh, int headDim)
{
    int pos = begin + min(c0 + (lane & 15), count - 1);
    return (((long long)table[pos / blockSize] * blockSize + pos % blockSize) * kvHeads + kvh) * headDim;
}

// One round's tiles: lane i (and i + 16) holds row offset `myRow` of tile row i; every lane copies its chunks.
template <int D>
__device__ __forceinline__ void dm_issue_tile(bf16_t* kTile, bf16_t* vTile, const bf16_t* keyCache,
    const bf16_t* valueCache, long long myRow, int lane)
{
    const int CPR = D / 8;                 // 16-byte chunks of a row
    const int PER_LANE = 16 * CPR / 32;    // chunks of a 16-row tile per lane
#pragma unroll
    for (int j = 0; j < PER_LANE; j++)
    {
        int idx = lane + 32 * j, r = idx / CPR, c = idx % CPR;
        long long row = __shfl_sync(0xffffffffu, myRow, r);
        int at = r * D + ((c ^ dm_swizzle(r)) << 3);
        dm_cp16(kTile + at, keyCache + row + c * 8);
        dm_cp16(vTile + at, valueCache + row + c * 8);
    }
}

// Dynamic shared memory: max(DF_WARPS * STAGES * 2 * 16 * D bf16 (the rings), DF_WARPS * group * D floats (the
// warps' accumulators, which reuse the rings after the loop)).
template <int D, int STAGES>
__device__ __forceinline__ void decode_mma_pipe(
    const bf16_t* query, const bf16_t* keyCache, const bf16_t* valueCache, const int* seqLens, const int* blockTables,
    int maxBlocksPerSeq, int heads, int kvHeads, int blockSize, float scale, int numSplits, int minKeysPerSplit,
    bf16_t* out, float* partialOut, float* partialMax, float* partialSum, int* counters)
{
    const int CPR = D / 8;     // 16-byte chunks of a row
    const int QC = CPR / 4;    // chunks of a lane's quarter of a query or key row: t, t + 4, ...
    const int VC = CPR / 8;    // chunks of a lane's eighth of a value row: VC g .. VC g + VC - 1
    const int NT = D / 8;      // PV n-tiles
    const int TILE = 16 * D;   // elements of one key or value tile
    extern __shared__ uint4 dmShared[];
    __shared__ float warpMax[DF_WARPS][DF_MAX_GROUP], warpSum[DF_WARPS][DF_MAX_GROUP];
    int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    int group = heads / kvHeads;
    bf16_t* ring = (bf16_t*)dmShared + warp * STAGES * 2 * TILE;   // [STAGES][key, value][16][D], this warp's
    float* warpAcc = (float*)dmShared;                              // [DF_WARPS, group, D] after the loop

    int seqLen = seqLens[s];
    if (seqLen <= 0)
    {
        if (split == 0)
            for (int idx = tid; idx < group * D; idx += DF_THREADS)
                out[((size_t)s * heads + kvh * group) * D + idx] = 0;
        return;
    }
    int perSplit = max(minKeysPerSplit, (seqLen + numSplits - 1) / numSplits);
    int active = (seqLen + perSplit - 1) / perSplit;
    int begin = split * perSplit;
    if (begin >= seqLen) return;   // no work, and not counted: every block computes the same `active`
    int count = min(seqLen, begin + perSplit) - begin;
    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;
    const int stride = DF_WARPS * 16;   // keys between a warp's rounds
    int rounds = count > warp * 16 ? (count - warp * 16 + stride - 1) / stride : 0;

    // Start the first STAGES - 1 rounds' copies before anything else waits on memory.
    long long ahead = dm_key_row(table, begin, count, warp * 16, lane, blockSize, kvHeads, kvh, D);
#pragma unroll
    for (int st = 0; st < STAGES - 1; st++)
    {
        if (st < rounds)
        {
            dm_issue_tile<D>(ring + st * 2 * TILE, ring + st * 2 * TILE + TILE, keyCache, valueCache, ahead, lane);
            ahead = dm_key_row(table, begin, count, (st + 1) * stride + warp * 16, lane, blockSize, kvHeads, kvh, D);
        }
        dm_commit();
    }

    unsigned int q[4 * QC];
    if (g < group)
    {
        const bf16_t* qRow = query + ((size_t)s * heads + (size_t)kvh * group + g) * D;
#pragma unroll
        for (int i = 0; i < QC; i++)
        {
            uint4 v = *(const uint4*)(qRow + (t + 4 * i) * 8);
            q[4 * i + 0] = v.x; q[4 * i + 1] = v.y; q[4 * i + 2] = v.z; q[4 * i + 3] = v.w;
        }
    }
    else
    {
#pragma unroll
        for (int i = 0; i < 4 * QC; i++) q[i] = 0u;
    }
    float acc[NT][2];
#pragma unroll
    for (int j = 0; j < NT; j++) { acc[j][0] = 0.0f; acc[j][1] = 0.0f; }
    float m = HEARTH_NEG_INF, l = 0.0f;
    const float scoreScale = scale * 1.4426950408889634f;

    for (int r = 0; r < rounds; r++)
    {
        int next = r + STAGES - 1;
        if (next < rounds)
        {
            bf16_t* tile = ring + (next % STAGES) * 2 * TILE;
            dm_issue_tile<D>(tile, tile + TILE, keyCache, valueCache, ahead, lane);
            ahead = dm_key_row(table, begin, count, (next + 1) * stride + warp * 16, lane, blockSize, kvHeads, kvh, D);
        }
        dm_commit();
        dm_wait<STAGES - 1>();   // this round's group is complete (for this lane)...
        __syncwarp();            // ...and for every lane of the warp
        const bf16_t* kTile = ring + (r % STAGES) * 2 * TILE;
        const bf16_t* vTile = kTile + TILE;
        int c0 = r * stride + warp * 16;

        float s0[2] = {0.0f, 0.0f}, s1[2] = {0.0f, 0.0f};
#pragma unroll
        for (int i = 0; i < QC; i++)
        {
            int c = t + 4 * i;
            uint4 a = *(const uint4*)(kTile + g * D + ((c ^ dm_swizzle(g)) << 3));
            uint4 b = *(const uint4*)(kTile + (g + 8) * D + ((c ^ dm_swizzle(g + 8)) << 3));
            dm_mma_top(s0, q[4 * i], q[4 * i + 1], a.x, a.y);
            dm_mma_top(s0, q[4 * i + 2], q[4 * i + 3], a.z, a.w);
            dm_mma_top(s1, q[4 * i], q[4 * i + 1], b.x, b.y);
            dm_mma_top(s1, q[4 * i + 2], q[4 * i + 3], b.z, b.w);
        }
        // Row g's scores for keys 2t, 2t+1 (n-tile 0) and 2t+8, 2t+9 (n-tile 1); a round has at least one key.
        float sc[4] = {s0[0], s0[1], s1[0], s1[1]};
        float tileMax = HEARTH_NEG_INF;
#pragma unroll
        for (int i = 0; i < 4; i++)
        {
            int key = c0 + 2 * t + (i & 1) + (i >> 1) * 8;
            sc[i] = key < count ? sc[i] * scoreScale : HEARTH_NEG_INF;
            tileMax = fmaxf(tileMax, sc[i]);
        }
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 2));
        float newMax = fmaxf(m, tileMax);
        float correction = exp2f(m - newMax);
        unsigned int p01 = dm_pack_bf16x2(exp2f(sc[0] - newMax), exp2f(sc[1] - newMax));
        unsigned int p23 = dm_pack_bf16x2(exp2f(sc[2] - newMax), exp2f(sc[3] - newMax));
        float rounded = (__uint_as_float(p01 << 16) + __uint_as_float(p01 & 0xffff0000u))
            + (__uint_as_float(p23 << 16) + __uint_as_float(p23 & 0xffff0000u));
        l = l * correction + rounded;   // this lane's keys only; the four lanes of a row add up at the end
        m = newMax;
#pragma unroll
        for (int ci = 0; ci < VC; ci++)
        {
            int c = VC * g + ci;
            uint4 r0 = *(const uint4*)(vTile + (2 * t) * D + ((c ^ dm_swizzle(2 * t)) << 3));
            uint4 r1 = *(const uint4*)(vTile + (2 * t + 1) * D + ((c ^ dm_swizzle(2 * t + 1)) << 3));
            uint4 r2 = *(const uint4*)(vTile + (2 * t + 8) * D + ((c ^ dm_swizzle(2 * t + 8)) << 3));
            uint4 r3 = *(const uint4*)(vTile + (2 * t + 9) * D + ((c ^ dm_swizzle(2 * t + 9)) << 3));
            unsigned int w0[4] = {r0.x, r0.y, r0.z, r0.w}, w1[4] = {r1.x, r1.y, r1.z, r1.w};
            unsigned int w2[4] = {r2.x, r2.y, r2.z, r2.w}, w3[4] = {r3.x, r3.y, r3.z, r3.w};
#pragma unroll
            for (int jj = 0; jj < 8; jj++)
            {
                int j = 8 * ci + jj;
                unsigned int selector = (jj & 1) ? 0x7632u : 0x5410u;
                unsigned int b0 = __byte_perm(w0[jj >> 1], w1[jj >> 1], selector);
                unsigned int b1 = __byte_perm(w2[jj >> 1], w3[jj >> 1], selector);
                acc[j][0] *= correction;
                acc[j][1] *= correction;
                dm_mma_top(acc[j], p01, p23, b0, b1);
            }
        }
        __syncwarp();   // every lane has read this stage before a later round's copies overwrite it
    }
    dm_wait<0>();

    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    __syncthreads();   // every warp is done with its ring before the rings become warpAcc
    if (g < group)
    {
        float* mine = warpAcc + (warp * group + g) * D;
#pragma unroll
        for (int j = 0; j < NT; j++)
        {
            mine[(2 * t) * (D / 8) + j] = acc[j][0];
            mine[(2 * t + 1) * (D / 8) + j] = acc[j][1];
        }
        if (t == 0) { warpMax[warp][g] = m; warpSum[warp][g] = l; }
    }
    decode_split_finish(warpAcc, warpMax, warpSum, s, kvh, split, heads, kvHeads, group, D, numSplits, active,
        out, partialOut, partialMax, partialSum, counters);
}

#define DECODE_MMA_PIPE_KERNEL(NAME, D, STAGES) \
extern "C" __global__ void __launch_bounds__(DF_THREADS) NAME(const bf16_t* query, const void* keyCache, \
    const void* valueCache, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, \
    int blockSize, float scale, int numSplits, int minKeysPerSplit, bf16_t* out, float* partialOut, float* partialMax, \
    float* partialSum, int* counters) \
{ \
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_ATTENTION); \
    decode_mma_pipe<D, STAGES>(query, (const bf16_t*)keyCache, (const bf16_t*)valueCache, seqLens, blockTables, \
        maxBlocksPerSeq, heads, kvHeads, blockSize, scale, numSplits, minKeysPerSplit, out, partialOut, partialMax, \
        partialSum, counters); \
}

// Two stages: 64 KiB a block at dim 128 (three blocks an SM); three stages: 96 KiB (two an SM).
DECODE_MMA_PIPE_KERNEL(decode_attention_mma_pipe2_d64, 64, 2)
DECODE_MMA_PIPE_KERNEL(decode_attention_mma_pipe2_d128, 128, 2)
DECODE_MMA_PIPE_KERNEL(decode_attention_mma_pipe3_d64, 64, 3)
DECODE_MMA_PIPE_KERNEL(decode_attention_mma_pipe3_d128, 128, 3)
