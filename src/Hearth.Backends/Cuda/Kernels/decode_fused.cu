// Decode attention (one query token per sequence), flash-decoding with the combine fused in. Block
// (sequence, kv head, split) covers one contiguous key range for all query heads of its GQA group (up to 8),
// so every key and value row is read once per group. Inside a block each warp runs its own online softmax
// over keys begin + warp, + 4, + 8, ...: a round loads UNROLL keys and their values at once, with no barrier
// between rounds, so many rows are in flight and nothing waits on shared memory until the end. The warps'
// states merge in shared memory; with one active split that is the output, otherwise the block writes a
// partial (rescaled sum, max, denominator) and the last block of its (sequence, kv head) to finish, told
// by an atomic counter, merges the partials and resets the counter for the next launch or graph replay.
//
// The split count is chosen on the host from the batch shape and the block-table width only; the key range
// of a split, and so how many splits have work, is computed here from seqLens, so a captured CUDA graph
// stays valid as contexts grow. Each lane owns DL consecutive head dims (headDim = 32 * DL). Cache layout
// [numBlocks, blockSize, kvHeads, headDim] of bf16, or of float8_e4m3fn bytes (FP8) widened in registers.

__device__ __forceinline__ void df_bf16x2(unsigned int v, float* f)
{
    f[0] = __uint_as_float(v << 16); f[1] = __uint_as_float(v & 0xffff0000u);
}

__device__ __forceinline__ void df_fp8x4(unsigned int v, float* f)
{
#pragma unroll
    for (int i = 0; i < 4; i++) f[i] = fp8e4m3_to_f32((v >> (8 * i)) & 0xffu);
}

// DL consecutive elements from element index `element` (a multiple of DL) as f32, in one vector load.
template <int DL, bool FP8>
__device__ __forceinline__ void df_load(const void* cache, long long element, float* f)
{
    if (FP8)
    {
        const unsigned char* p = (const unsigned char*)cache + element;
        if (DL == 1) f[0] = fp8e4m3_to_f32(p[0]);
        else if (DL == 2)
        {
            unsigned int v = *(const unsigned short*)p;
            f[0] = fp8e4m3_to_f32(v & 0xffu); f[1] = fp8e4m3_to_f32(v >> 8);
        }
        else if (DL == 4) df_fp8x4(*(const unsigned int*)p, f);
        else
        {
            uint2 v = *(const uint2*)p;
            df_fp8x4(v.x, f); df_fp8x4(v.y, f + 4);
        }
    }
    else
    {
        const bf16_t* p = (const bf16_t*)cache + element;
        if (DL == 1) f[0] = bf16_to_f32(p[0]);
        else if (DL == 2) df_bf16x2(*(const unsigned int*)p, f);
        else if (DL == 4)
        {
            uint2 v = *(const uint2*)p;
            df_bf16x2(v.x, f); df_bf16x2(v.y, f + 2);
        }
        else
        {
            uint4 v = *(const uint4*)p;
            df_bf16x2(v.x, f); df_bf16x2(v.y, f + 2); df_bf16x2(v.z, f + 4); df_bf16x2(v.w, f + 6);
        }
    }
}

// Sums eight per-lane values over the warp at once, as a transposed butterfly: 9 shuffles instead of 8 x 5.
// Lane l ends with the full sum of value (l >> 2) & 7.
__device__ __forceinline__ float transpose_sum8(const float* v, int lane)
{
    bool b4 = lane & 16, b3 = lane & 8, b2 = lane & 4;
    float w[4], x[2];
#pragma unroll
    for (int i = 0; i < 4; i++)
        w[i] = (b4 ? v[i + 4] : v[i]) + __shfl_xor_sync(0xffffffffu, b4 ? v[i] : v[i + 4], 16);
#pragma unroll
    for (int i = 0; i < 2; i++)
        x[i] = (b3 ? w[i + 2] : w[i]) + __shfl_xor_sync(0xffffffffu, b3 ? w[i] : w[i + 2], 8);
    float y = (b2 ? x[1] : x[0]) + __shfl_xor_sync(0xffffffffu, b2 ? x[0] : x[1], 4);
    y += __shfl_xor_sync(0xffffffffu, y, 2);
    return y + __shfl_xor_sync(0xffffffffu, y, 1);
}

// One round's UNROLL keys and values of a warp (chunk keys r .. r + UNROLL - 1; zeros past the chunk). Lane i of
// myRow holds the cache row of the chunk's key i; every lane takes part in the shuffles.
template <int DL, bool FP8, int UNROLL>
__device__ __forceinline__ void df_load_round(const void* keyCache, const void* valueCache, long long myRow, int r, int chunk,
    int lane, float (*k)[DL], float (*v)[DL])
{
#pragma unroll
    for (int u = 0; u < UNROLL; u++)
    {
        long long row = __shfl_sync(0xffffffffu, myRow, (r + u) & 31);
        if (r + u < chunk)
        {
            df_load<DL, FP8>(keyCache, row + lane * DL, k[u]);
            df_load<DL, FP8>(valueCache, row + lane * DL, v[u]);
        }
        else
        {
#pragma unroll
            for (int i = 0; i < DL; i++) { k[u][i] = 0.0f; v[u][i] = 0.0f; }
        }
    }
}

// Dynamic shared memory: DF_WARPS * group * headDim floats (the warps' accumulators). Scores are kept in
// log2 units (the query is pre-scaled by log2 e) so every exponential is one exp2f. TRANSPOSE (UNROLL 8 only)
// reduces a round's eight dot products together: each lane then owns one key's score, so the max, the
// exponentials and the denominator cost one value per lane instead of eight. GROUP > 0 fixes the GQA group
// size at compile time: the registers hold exactly that many heads' queries and accumulators, and the heads'
// independent reduction chains interleave; GROUP 0 reads it from heads / kvHeads (any group up to 8).
template <int DL, bool FP8, int UNROLL, bool TRANSPOSE, int GROUP>
__device__ __forceinline__ void decode_fused(
    const bf16_t* query, const void* keyCache, const void* valueCache, const int* seqLens, const int* blockTables,
    int maxBlocksPerSeq, int heads, int kvHeads, int blockSize, float scale, int numSplits, int minKeysPerSplit,
    bf16_t* out, float* partialOut, float* partialMax, float* partialSum, int* counters)
{
    const int headDim = 32 * DL;
    extern __shared__ float warpAcc[];   // [DF_WARPS, group, headDim]
    __shared__ float warpMax[DF_WARPS][DF_MAX_GROUP], warpSum[DF_WARPS][DF_MAX_GROUP];
    int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int GMAX = GROUP > 0 ? GROUP : DF_MAX_GROUP;
    const int group = GROUP > 0 ? GROUP : heads / kvHeads;

    int seqLen = seqLens[s];
    if (seqLen <= 0)
    {
        // A padded row: no keys, a zero output (as the general kernel would leave no NaN behind).
        if (split == 0)
            for (int idx = tid; idx < group * headDim; idx += DF_THREADS)
                out[((size_t)s * heads + kvh * group) * headDim + idx] = 0;
        return;
    }
    int perSplit = max(minKeysPerSplit, (seqLen + numSplits - 1) / numSplits);
    int active = (seqLen + perSplit - 1) / perSplit;
    int begin = split * perSplit;
    if (begin >= seqLen) return;   // no work, and not counted: every block computes the same `active`
    int end = min(seqLen, begin + perSplit);

    float q[GMAX][DL], acc[GMAX][DL], m[GMAX], l[GMAX];
#pragma unroll
    for (int g = 0; g < GMAX; g++)
    {
        m[g] = HEARTH_NEG_INF; l[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < DL; i++) { q[g][i] = 0.0f; acc[g][i] = 0.0f; }
        if (g < group)
        {
            df_load<DL, false>(query, ((size_t)s * heads + (size_t)kvh * group + g) * headDim + lane * DL, q[g]);
#pragma unroll
            for (int i = 0; i < DL; i++) q[g][i] *= scale * 1.4426950408889634f;
        }
    }

    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;
    int count = end - begin;
    int warpKeys = count > warp ? (count - warp + DF_WARPS - 1) / DF_WARPS : 0;
    for (int c0 = 0; c0 < warpKeys; c0 += 32)
    {
        // Lane i looks up the cache row of the chunk's key i once; rounds take the rows by shuffle.
        long long myRow = 0;
        if (c0 + lane < warpKeys)
        {
            int pos = begin + warp + DF_WARPS * (c0 + lane);
            long long slot = (long long)table[pos / blockSize] * blockSize + pos % blockSize;
            myRow = (slot * kvHeads + kvh) * headDim;
        }
        int chunk = min(32, warpKeys - c0);
        float k[UNROLL][DL], v[UNROLL][DL];
        df_load_round<DL, FP8, UNROLL>(keyCache, valueCache, myRow, 0, chunk, lane, k, v);
        for (int r = 0; r < chunk; r += UNROLL)
        {
#pragma unroll
            for (int g = 0; g < GMAX; g++)
            {
                if (g >= group) continue;
                if (TRANSPOSE)
                {
                    float partial[8];
#pragma unroll
                    for (int u = 0; u < 8; u++)
                    {
                        float dot = 0.0f;
#pragma unroll
                        for (int i = 0; i < DL; i++) dot = fmaf(q[g][i], k[u & (UNROLL - 1)][i], dot);
                        partial[u] = dot;
                    }
                    int myKey = (lane >> 2) & 7;
                    float sum = transpose_sum8(partial, lane);   // every lane takes part in the shuffles
                    float score = r + myKey < chunk ? sum : HEARTH_NEG_INF;
                    float tileMax = fmaxf(score, __shfl_xor_sync(0xffffffffu, score, 4));
                    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 8));
                    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 16));
                    float newMax = fmaxf(m[g], tileMax);
                    float correction = exp2f(m[g] - newMax);
                    float p = exp2f(score - newMax);
                    float pSum = p + __shfl_xor_sync(0xffffffffu, p, 4);
                    pSum += __shfl_xor_sync(0xffffffffu, pSum, 8);
                    pSum += __shfl_xor_sync(0xffffffffu, pSum, 16);
                    l[g] = l[g] * correction + pSum;
#pragma unroll
                    for (int i = 0; i < DL; i++) acc[g][i] *= correction;
#pragma unroll
                    for (int u = 0; u < 8; u++)
                    {
                        float pu = __shfl_sync(0xffffffffu, p, u * 4);
#pragma unroll
                        for (int i = 0; i < DL; i++) acc[g][i] = fmaf(pu, v[u & (UNROLL - 1)][i], acc[g][i]);
                    }
                    m[g] = newMax;
                    continue;
                }
                float dots[UNROLL];
                float tileMax = HEARTH_NEG_INF;
#pragma unroll
                for (int u = 0; u < UNROLL; u++)
                {
                    float dot = 0.0f;
#pragma unroll
                    for (int i = 0; i < DL; i++) dot = fmaf(q[g][i], k[u][i], dot);
                    dot = warp_sum(dot);
                    dots[u] = r + u < chunk ? dot : HEARTH_NEG_INF;
                    tileMax = fmaxf(tileMax, dots[u]);
                }
                // The round has at least one key, so newMax is finite and exp(-inf - newMax) is 0.
                float newMax = fmaxf(m[g], tileMax);
                float correction = exp2f(m[g] - newMax);
                l[g] *= correction;
#pragma unroll
                for (int i = 0; i < DL; i++) acc[g][i] *= correction;
#pragma unroll
                for (int u = 0; u < UNROLL; u++)
                {
                    float p = exp2f(dots[u] - newMax);
                    l[g] += p;
#pragma unroll
                    for (int i = 0; i < DL; i++) acc[g][i] = fmaf(p, v[u][i], acc[g][i]);
                }
                m[g] = newMax;
            }
            // The next round is requested after this one's arithmetic: requesting it before (two rounds in flight)
            // measured slower at every shape on the H100 (more registers, fewer blocks per SM).
            if (r + UNROLL < chunk) df_load_round<DL, FP8, UNROLL>(keyCache, valueCache, myRow, r + UNROLL, chunk, lane, k, v);
        }
    }

#pragma unroll
    for (int g = 0; g < GMAX; g++)
    {
        if (g >= group) continue;
        if (lane == 0) { warpMax[warp][g] = m[g]; warpSum[warp][g] = l[g]; }
#pragma unroll
        for (int i = 0; i < DL; i++) warpAcc[(warp * group + g) * headDim + lane * DL + i] = acc[g][i];
    }
    decode_split_finish(warpAcc, warpMax, warpSum, s, kvh, split, heads, kvHeads, group, headDim, numSplits, active,
        out, partialOut, partialMax, partialSum, counters);
}

#define DECODE_FUSED_KERNEL(NAME, DL, FP8, UNROLL, TRANSPOSE) DECODE_FUSED_KERNEL_G(NAME, DL, FP8, UNROLL, TRANSPOSE, 0)
#define DECODE_FUSED_KERNEL_G(NAME, DL, FP8, UNROLL, TRANSPOSE, GROUP) \
extern "C" __global__ void __launch_bounds__(DF_THREADS) NAME(const bf16_t* query, const void* keyCache, \
    const void* valueCache, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, \
    int blockSize, float scale, int numSplits, int minKeysPerSplit, bf16_t* out, float* partialOut, float* partialMax, \
    float* partialSum, int* counters) \
{ \
    decode_fused<DL, FP8, UNROLL, TRANSPOSE, GROUP>(query, keyCache, valueCache, seqLens, blockTables, maxBlocksPerSeq, heads, kvHeads, blockSize, \
        scale, numSplits, minKeysPerSplit, out, partialOut, partialMax, partialSum, counters); \
}

// UNROLL: keys (and their values) loaded at once per warp; 8 (4 at dim 256, registers allowing) by default,
// 4 as the lighter-register variant (HEARTH_CUDA_DECODE_UNROLL=4); tr: the transposed reduction.
DECODE_FUSED_KERNEL(decode_attention_fused_d32, 1, false, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_d64, 2, false, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_d128, 4, false, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_d256, 8, false, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_fp8_d32, 1, true, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_fp8_d64, 2, true, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_fp8_d128, 4, true, 8, false)
DECODE_FUSED_KERNEL(decode_attention_fused_fp8_d256, 8, true, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_u4_d64, 2, false, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_u4_d128, 4, false, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_u4_fp8_d64, 2, true, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_u4_fp8_d128, 4, true, 4, false)
DECODE_FUSED_KERNEL(decode_attention_fused_tr_d64, 2, false, 8, true)
DECODE_FUSED_KERNEL(decode_attention_fused_tr_d128, 4, false, 8, true)
DECODE_FUSED_KERNEL(decode_attention_fused_tr_fp8_d64, 2, true, 8, true)
DECODE_FUSED_KERNEL(decode_attention_fused_tr_fp8_d128, 4, true, 8, true)

// The transposed kernels with the GQA group fixed at compile time, for the groups of the Qwen3 family
// (2, 4, 5, 8; 1 for multi-head attention); other groups take the runtime-group kernel above.
#define DECODE_FUSED_GROUPS(DIM, DL) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_g1_d##DIM, DL, false, 8, true, 1) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_g2_d##DIM, DL, false, 8, true, 2) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_g4_d##DIM, DL, false, 8, true, 4) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_g5_d##DIM, DL, false, 8, true, 5) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_g8_d##DIM, DL, false, 8, true, 8) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_fp8_g1_d##DIM, DL, true, 8, true, 1) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_fp8_g2_d##DIM, DL, true, 8, true, 2) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_fp8_g4_d##DIM, DL, true, 8, true, 4) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_fp8_g5_d##DIM, DL, true, 8, true, 5) \
DECODE_FUSED_KERNEL_G(decode_attention_fused_tr_fp8_g8_d##DIM, DL, true, 8, true, 8)
DECODE_FUSED_GROUPS(64, 2)
DECODE_FUSED_GROUPS(128, 4)
