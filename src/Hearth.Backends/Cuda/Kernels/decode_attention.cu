// Decode attention (one query token per sequence) split over the key axis, flash-decoding style: block
// (sequence, kv head, split) handles one contiguous range of keys for all query heads of its GQA group,
// so every key and value row is read once per group. Split ranges are computed on the device from
// seqLens, so a CUDA graph captured for one batch size stays valid as contexts grow. With one split the
// block writes the output directly; otherwise decode_attention_combine merges the partial results.
// Each lane owns DL consecutive head dimensions (headDim = 32 * DL); each warp owns a quarter of every key
// tile, loading up to 8 keys at a time so that several rows are in flight. Cache layout
// [numBlocks, blockSize, kvHeads, headDim].

#define DA_THREADS 128
#define DA_WARPS (DA_THREADS / 32)
#define DA_TILE 64
#define DA_KEYS_PER_WARP (DA_TILE / DA_WARPS)
#define DA_MAX_GROUP 8

template <int DL>
__device__ __forceinline__ void load_dims(const bf16_t* p, float* f)
{
    if (DL == 1)
    {
        f[0] = bf16_to_f32(p[0]);
    }
    else if (DL == 2)
    {
        unsigned int v = *(const unsigned int*)p;
        f[0] = __uint_as_float(v << 16); f[1] = __uint_as_float(v & 0xffff0000u);
    }
    else if (DL == 4)
    {
        uint2 v = *(const uint2*)p;
        f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
        f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
    }
    else
    {
        bf16x8_to_f32(*(const uint4*)p, f);
    }
}

// Dynamic shared memory: group * DA_TILE floats (scores) + DA_WARPS * group * headDim floats (final reduction).
template <int DL>
__device__ __forceinline__ void decode_split(
    const bf16_t* query, const bf16_t* keyCache, const bf16_t* valueCache, const int* seqLens,
    const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, int blockSize, float scale,
    int numSplits, bf16_t* out, float* partialOut, float* partialMax, float* partialSum)
{
    const int headDim = 32 * DL;
    const int DA_UNROLL = DL >= 8 ? 4 : 8;   // keys loaded at once per warp (registers allowing)
    extern __shared__ float smem[];
    __shared__ float headMax[DA_MAX_GROUP], headSum[DA_MAX_GROUP], tileScale[DA_MAX_GROUP];
    __shared__ long long slotRows[DA_TILE];
    int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    int group = heads / kvHeads;
    float* scores = smem;
    float* warpAcc = smem + group * DA_TILE;

    int seqLen = seqLens[s];
    // At least one whole tile per split: short contexts use fewer splits, the rest exit at once.
    int perSplit = max(DA_TILE, (seqLen + numSplits - 1) / numSplits);
    int begin = split * perSplit, end = min(seqLen, begin + perSplit);
    float q[DA_MAX_GROUP][DL], acc[DA_MAX_GROUP][DL];
#pragma unroll
    for (int g = 0; g < DA_MAX_GROUP; g++)
    {
#pragma unroll
        for (int i = 0; i < DL; i++) { q[g][i] = 0.0f; acc[g][i] = 0.0f; }
        if (g < group)
        {
            load_dims<DL>(query + ((size_t)s * heads + (size_t)kvh * group + g) * headDim + lane * DL, q[g]);
#pragma unroll
            for (int i = 0; i < DL; i++) q[g][i] *= scale;
        }
    }
    if (tid < group) { headMax[tid] = HEARTH_NEG_INF; headSum[tid] = 0.0f; }

    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;
    for (int t0 = begin; t0 < end; t0 += DA_TILE)
    {
        int tileLen = min(DA_TILE, end - t0);
        if (tid < tileLen)
        {
            int pos = t0 + tid;
            long long slot = (long long)table[pos / blockSize] * blockSize + pos % blockSize;
            slotRows[tid] = (slot * kvHeads + kvh) * headDim;
        }
        __syncthreads();
        int jBegin = warp * DA_KEYS_PER_WARP, jEnd = min(jBegin + DA_KEYS_PER_WARP, tileLen);
        for (int j0 = jBegin; j0 < jEnd; j0 += DA_UNROLL)
        {
            float k[DA_UNROLL][DL];
#pragma unroll
            for (int u = 0; u < DA_UNROLL; u++)
            {
                if (j0 + u < jEnd) load_dims<DL>(keyCache + slotRows[j0 + u] + lane * DL, k[u]);
                else
                {
#pragma unroll
                    for (int i = 0; i < DL; i++) k[u][i] = 0.0f;
                }
            }
#pragma unroll
            for (int u = 0; u < DA_UNROLL; u++)
            {
#pragma unroll
                for (int g = 0; g < DA_MAX_GROUP; g++)
                {
                    if (g < group)
                    {
                        float dot = 0.0f;
#pragma unroll
                        for (int i = 0; i < DL; i++) dot = fmaf(q[g][i], k[u][i], dot);
                        dot = warp_sum(dot);
                        if (lane == 0 && j0 + u < jEnd) scores[g * DA_TILE + j0 + u] = dot;
                    }
                }
            }
        }
        __syncthreads();
        for (int g = warp; g < group; g += DA_WARPS)
        {
            float m = HEARTH_NEG_INF;
            for (int j = lane; j < tileLen; j += 32) m = fmaxf(m, scores[g * DA_TILE + j]);
            m = warp_max(m);
            float newMax = fmaxf(headMax[g], m);
            float sum = 0.0f;
            for (int j = lane; j < tileLen; j += 32)
            {
                float p = expf(scores[g * DA_TILE + j] - newMax);
                scores[g * DA_TILE + j] = p;
                sum += p;
            }
            sum = warp_sum(sum);
            if (lane == 0)
            {
                float correction = expf(headMax[g] - newMax);
                tileScale[g] = correction;
                headSum[g] = headSum[g] * correction + sum;
                headMax[g] = newMax;
            }
        }
        __syncthreads();
#pragma unroll
        for (int g = 0; g < DA_MAX_GROUP; g++)
        {
            if (g < group)
            {
                float c = tileScale[g];
#pragma unroll
                for (int i = 0; i < DL; i++) acc[g][i] *= c;
            }
        }
        for (int j0 = jBegin; j0 < jEnd; j0 += DA_UNROLL)
        {
            float v[DA_UNROLL][DL];
#pragma unroll
            for (int u = 0; u < DA_UNROLL; u++)
            {
                if (j0 + u < jEnd) load_dims<DL>(valueCache + slotRows[j0 + u] + lane * DL, v[u]);
                else
                {
#pragma unroll
                    for (int i = 0; i < DL; i++) v[u][i] = 0.0f;
                }
            }
#pragma unroll
            for (int u = 0; u < DA_UNROLL; u++)
            {
                if (j0 + u >= jEnd) break;
#pragma unroll
                for (int g = 0; g < DA_MAX_GROUP; g++)
                {
                    if (g < group)
                    {
                        float p = scores[g * DA_TILE + j0 + u];
#pragma unroll
                        for (int i = 0; i < DL; i++) acc[g][i] = fmaf(p, v[u][i], acc[g][i]);
                    }
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int g = 0; g < DA_MAX_GROUP; g++)
    {
        if (g < group)
        {
#pragma unroll
            for (int i = 0; i < DL; i++) warpAcc[(warp * group + g) * headDim + lane * DL + i] = acc[g][i];
        }
    }
    __syncthreads();
    for (int idx = tid; idx < group * headDim; idx += DA_THREADS)
    {
        int g = idx / headDim, d = idx % headDim;
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < DA_WARPS; w++) sum += warpAcc[(w * group + g) * headDim + d];
        int h = kvh * group + g;
        if (numSplits == 1)
        {
            float inverse = headSum[g] > 0.0f ? 1.0f / headSum[g] : 0.0f;
            out[((size_t)s * heads + h) * headDim + d] = f32_to_bf16(sum * inverse);
        }
        else
        {
            partialOut[(((size_t)s * heads + h) * numSplits + split) * headDim + d] = sum;
        }
    }
    if (numSplits > 1 && tid < group)
    {
        size_t part = ((size_t)s * heads + kvh * group + tid) * numSplits + split;
        partialMax[part] = headMax[tid];
        partialSum[part] = headSum[tid];
    }
}

#define DECODE_SPLIT_KERNEL(DL, D) \
extern "C" __global__ void __launch_bounds__(DA_THREADS) decode_attention_split_d##D(const bf16_t* query, const bf16_t* keyCache, \
    const bf16_t* valueCache, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, \
    int blockSize, float scale, int numSplits, bf16_t* out, float* partialOut, float* partialMax, float* partialSum) \
{ \
    decode_split<DL>(query, keyCache, valueCache, seqLens, blockTables, maxBlocksPerSeq, heads, kvHeads, blockSize, scale, \
        numSplits, out, partialOut, partialMax, partialSum); \
}

DECODE_SPLIT_KERNEL(1, 32)
DECODE_SPLIT_KERNEL(2, 64)
DECODE_SPLIT_KERNEL(4, 128)
DECODE_SPLIT_KERNEL(8, 256)

// One block per (sequence, head): rescales each split's partial sums to the common maximum and normalizes.
extern "C" __global__ void decode_attention_combine(const float* partialOut, const float* partialMax, const float* partialSum,
    int heads, int headDim, int numSplits, bf16_t* out)
{
    int s = blockIdx.x, h = blockIdx.y;
    size_t base = ((size_t)s * heads + h) * numSplits;
    float globalMax = HEARTH_NEG_INF;
    for (int i = 0; i < numSplits; i++) globalMax = fmaxf(globalMax, partialMax[base + i]);
    float total = 0.0f;
    for (int i = 0; i < numSplits; i++)
        if (partialSum[base + i] > 0.0f) total += partialSum[base + i] * expf(partialMax[base + i] - globalMax);
    float inverse = total > 0.0f ? 1.0f / total : 0.0f;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x)
    {
        float o = 0.0f;
        for (int i = 0; i < numSplits; i++)
            if (partialSum[base + i] > 0.0f) o += partialOut[(base + i) * headDim + d] * expf(partialMax[base + i] - globalMax);
        out[((size_t)s * heads + h) * headDim + d] = f32_to_bf16(o * inverse);
    }
}
