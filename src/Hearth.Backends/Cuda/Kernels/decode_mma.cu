// Decode attention on tensor cores, the register kernel (layout and MMA helpers in decode_mma.cuh).

#include "decode_mma.cuh"
#include "decode_cluster.cuh"

// EARLY (the _cl kernels, session 10): the first round's K/V rows are loaded before the PDL wait, the newest key's
// rows again after it (the preceding q/k norm + RoPE + KV write kernel writes only position seqLen - 1; the step's
// metadata and older rows are complete before the graph's first kernel), and the splits combine in their cluster
// (decode_cluster.cuh) when launched in one. HEARTH_DECODE_PREWAIT=0 (a kernel define) keeps the loads after the wait.
#ifndef HEARTH_DECODE_PREWAIT
#define HEARTH_DECODE_PREWAIT 1
#endif
// The most keys a clustered block takes before the keys spread over every split (DecodeClusterPlan.MaxClusterKeysPerSplit).
#ifndef HEARTH_DECODE_CLUSTER_KEYS
#define HEARTH_DECODE_CLUSTER_KEYS 128
#endif

// Dynamic shared memory: DF_WARPS * group * D floats (the warps' accumulators), as decode_fused.
template <int D, bool FP8, bool EARLY>
__device__ __forceinline__ void decode_mma(
    const bf16_t* query, const void* keyCache, const void* valueCache, const int* seqLens, const int* blockTables,
    int maxBlocksPerSeq, int heads, int kvHeads, int blockSize, float scale, int numSplits, int minKeysPerSplit,
    bf16_t* out, float* partialOut, float* partialMax, float* partialSum, int* counters)
{
    const int QW = D / 8;    // words of a lane's quarter row (query and keys)
    const int VW = D / 16;   // words of a lane's eighth of a value row
    const int NT = D / 8;    // PV n-tiles
    extern __shared__ float warpAcc[];   // [DF_WARPS, group, D]
    __shared__ float warpMax[DF_WARPS][DF_MAX_GROUP], warpSum[DF_WARPS][DF_MAX_GROUP];
    int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    int group = heads / kvHeads;
    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;

    // The step's metadata (seqLens, block tables) is uploaded before its first kernel, so it is read before the
    // wait, with the first round's cache row: only the query and the cache are an earlier kernel's output.
    HEARTH_PDL_EARLY_LAUNCH_IF(HEARTH_PDL_EARLY_ATTENTION);
    int seqLen = seqLens[s];
    int perSplit = max(minKeysPerSplit, (max(seqLen, 0) + numSplits - 1) / numSplits);
    // In a cluster, contexts up to HEARTH_DECODE_CLUSTER_KEYS a block spread over the first cluster alone, so that
    // its blocks combine in shared memory (a round or two more a warp costs less than the global combine).
    if (EARLY && dc_cluster_blocks() > 1 && seqLen <= dc_cluster_blocks() * HEARTH_DECODE_CLUSTER_KEYS)
        perSplit = max(minKeysPerSplit, (seqLen + dc_cluster_blocks() - 1) / dc_cluster_blocks());
    int active = (seqLen + perSplit - 1) / perSplit;
    int begin = split * perSplit;
    int count = min(seqLen, begin + perSplit) - begin;
    long long firstRow = 0;
    bool firstRound = seqLen > 0 && count > 0 && warp * 16 < count;   // warp-uniform
    if (firstRound) firstRow = dm_cache_row<D>(table, begin + min(warp * 16 + (lane & 15), count - 1), blockSize, kvHeads, kvh);
    const bool early = EARLY && HEARTH_DECODE_PREWAIT;
    unsigned int k0[QW], k1[QW], v0[VW], v1[VW], v2[VW], v3[VW];
    DmRoundRows rows;
    if (early && firstRound)
    {
        rows = dm_round_rows(firstRow, g, t);
        dm_load_round<D, FP8>(keyCache, valueCache, rows, g, t, 0, k0, k1, v0, v1, v2, v3);
    }
    HEARTH_PDL_WAIT();
    HEARTH_PDL_LATE_LAUNCH_IF(HEARTH_PDL_EARLY_ATTENTION);
    if (seqLen <= 0)
    {
        if (split == 0)
            for (int idx = tid; idx < group * D; idx += DF_THREADS)
                out[((size_t)s * heads + kvh * group) * D + idx] = 0;
        return;
    }
    const bool inCluster = EARLY && dc_combines_in_cluster(active);
    if (begin >= seqLen)   // no work, and not counted: every block computes the same `active`
    {
        if (inCluster && split < dc_cluster_blocks())
            dc_cluster_finish(warpAcc, warpMax, warpSum, false, s, kvh, split, heads, group, D, active, out);
        return;
    }
    // The newest key (seqLen - 1) in this warp's first round: its rows, and those of the clamped keys past it, again.
    if (early && firstRound && begin + count == seqLen && count - 1 - warp * 16 < 16)
        dm_load_round<D, FP8>(keyCache, valueCache, rows, g, t, count - 1 - warp * 16, k0, k1, v0, v1, v2, v3);

    unsigned int q[QW];
    if (g < group) dm_load_words<QW, false>(query, ((size_t)s * heads + (size_t)kvh * group + g) * D + t * (D / 4), q);
    else
    {
#pragma unroll
        for (int i = 0; i < QW; i++) q[i] = 0u;
    }
    float acc[NT][2];
#pragma unroll
    for (int j = 0; j < NT; j++) { acc[j][0] = 0.0f; acc[j][1] = 0.0f; }
    float m = HEARTH_NEG_INF, l = 0.0f;
    const float scoreScale = scale * 1.4426950408889634f;

    for (int c0 = warp * 16; c0 < count; c0 += DF_WARPS * 16)
    {
        // Lane i (and i + 16) looks up key c0 + i's row; keys past the range read the last key's row (finite)
        // and get weight 0, so no load is conditional.
        if (!early || c0 != warp * 16)
        {
            long long myRow = c0 == warp * 16 ? firstRow : dm_cache_row<D>(table, begin + min(c0 + (lane & 15), count - 1), blockSize, kvHeads, kvh);
            dm_load_round<D, FP8>(keyCache, valueCache, dm_round_rows(myRow, g, t), g, t, 0, k0, k1, v0, v1, v2, v3);
        }

        float s0[2] = {0.0f, 0.0f}, s1[2] = {0.0f, 0.0f};
#pragma unroll
        for (int j = 0; j < D / 16; j++)
        {
            dm_mma_top(s0, q[2 * j], q[2 * j + 1], k0[2 * j], k0[2 * j + 1]);
            dm_mma_top(s1, q[2 * j], q[2 * j + 1], k1[2 * j], k1[2 * j + 1]);
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
        for (int j = 0; j < NT; j++)
        {
            unsigned int selector = (j & 1) ? 0x7632u : 0x5410u;
            unsigned int b0 = __byte_perm(v0[j >> 1], v1[j >> 1], selector);
            unsigned int b1 = __byte_perm(v2[j >> 1], v3[j >> 1], selector);
            acc[j][0] *= correction;
            acc[j][1] *= correction;
            dm_mma_top(acc[j], p01, p23, b0, b1);
        }
    }

    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
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
    if (inCluster)
        dc_cluster_finish(warpAcc, warpMax, warpSum, true, s, kvh, split, heads, group, D, active, out);
    else
        decode_split_finish(warpAcc, warpMax, warpSum, s, kvh, split, heads, kvHeads, group, D, numSplits, active,
            out, partialOut, partialMax, partialSum, counters);
}

#define DECODE_MMA_KERNEL(NAME, D, FP8) DECODE_MMA_KERNEL_B(NAME, D, FP8, 1)
#define DECODE_MMA_KERNEL_B(NAME, D, FP8, MIN_BLOCKS) DECODE_MMA_KERNEL_E(NAME, D, FP8, MIN_BLOCKS, false)
#define DECODE_MMA_KERNEL_E(NAME, D, FP8, MIN_BLOCKS, EARLY) \
extern "C" __global__ void __launch_bounds__(DF_THREADS, MIN_BLOCKS) NAME(const bf16_t* query, const void* keyCache, \
    const void* valueCache, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, \
    int blockSize, float scale, int numSplits, int minKeysPerSplit, bf16_t* out, float* partialOut, float* partialMax, \
    float* partialSum, int* counters) \
{ \
    decode_mma<D, FP8, EARLY>(query, keyCache, valueCache, seqLens, blockTables, maxBlocksPerSeq, heads, kvHeads, blockSize, \
        scale, numSplits, minKeysPerSplit, out, partialOut, partialMax, partialSum, counters); \
}

DECODE_MMA_KERNEL(decode_attention_mma_d64, 64, false)
DECODE_MMA_KERNEL(decode_attention_mma_d128, 128, false)
DECODE_MMA_KERNEL(decode_attention_mma_fp8_d64, 64, true)
DECODE_MMA_KERNEL(decode_attention_mma_fp8_d128, 128, true)
// Capped at 128 registers so that four blocks fit an SM (bf16 d128 takes 154 uncapped: three): at batch 32 x 512
// the default split plan's 512 blocks then run in one wave on 132 SMs instead of 1.3.
DECODE_MMA_KERNEL_B(decode_attention_mma_o4_d64, 64, false, 4)
DECODE_MMA_KERNEL_B(decode_attention_mma_o4_d128, 128, false, 4)
// Session 10: the first round's loads before the PDL wait and the cluster combine (launched in clusters of
// DecodeClusterPlan's size at batches whose split plan has a whole cluster, else plainly; HEARTH_CUDA_DECODE_CLUSTER).
// Not capped: at 128 registers (as _o4) it spilled 246 bytes and measured slower at every batch-1 context (1 x 512:
// 6.24 against 5.57 us; 1 x 32768: 99.2 against 78.0); the split plan aims for its occupancy instead.
DECODE_MMA_KERNEL_E(decode_attention_mma_cl_d64, 64, false, 1, true)
DECODE_MMA_KERNEL_E(decode_attention_mma_cl_d128, 128, false, 1, true)
DECODE_MMA_KERNEL_E(decode_attention_mma_cl_fp8_d64, 64, true, 1, true)
DECODE_MMA_KERNEL_E(decode_attention_mma_cl_fp8_d128, 128, true, 1, true)
