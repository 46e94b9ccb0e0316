// Decode attention (one query token per sequence) split over the key axis, flash-decoding style: block
// (sequence, kv head, split) handles one contiguous range of keys for all query heads of its GQA group,
// so every key and value row is read once per group. Split ranges are computed on the device from
// seqLens, so a CUDA graph captured for one batch size stays valid as contexts grow. With one split the
// block writes the output directly; otherwise decode_attention_combine merges the partial results.
// Cache layout [numBlocks, blockSize, kvHeads, headDim]; headDim even and at most DA_THREADS * DA_MAX_DIMS.

#define DA_THREADS 128
#define DA_WARPS (DA_THREADS / 32)
#define DA_TILE 64
#define DA_MAX_GROUP 16
#define DA_MAX_DIMS 4

// Dynamic shared memory: group * headDim floats (scaled queries) + group * DA_TILE floats (scores).
extern "C" __global__ void __launch_bounds__(DA_THREADS) decode_attention_split(
    const bf16_t* query, const bf16_t* keyCache, const bf16_t* valueCache, const int* seqLens,
    const int* blockTables, int maxBlocksPerSeq, int heads, int kvHeads, int headDim, int blockSize, float scale,
    int numSplits, bf16_t* out, float* partialOut, float* partialMax, float* partialSum)
{
    extern __shared__ float smem[];
    __shared__ float headMax[DA_MAX_GROUP], headSum[DA_MAX_GROUP], tileScale[DA_MAX_GROUP];
    __shared__ long long slotRows[DA_TILE];
    int s = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    int group = heads / kvHeads;
    float* q = smem;
    float* scores = smem + group * headDim;

    int seqLen = seqLens[s];
    int perSplit = (seqLen + numSplits - 1) / numSplits;
    int begin = split * perSplit, end = min(seqLen, begin + perSplit);
    const bf16_t* qSrc = query + ((size_t)s * heads + (size_t)kvh * group) * headDim;
    for (int i = tid; i < group * headDim; i += DA_THREADS) q[i] = bf16_to_f32(qSrc[i]) * scale;
    if (tid < group) { headMax[tid] = HEARTH_NEG_INF; headSum[tid] = 0.0f; }
    float acc[DA_MAX_GROUP][DA_MAX_DIMS];
#pragma unroll
    for (int g = 0; g < DA_MAX_GROUP; g++)
#pragma unroll
        for (int i = 0; i < DA_MAX_DIMS; i++) acc[g][i] = 0.0f;
    __syncthreads();

    const int* table = blockTables + (size_t)s * maxBlocksPerSeq;
    for (int t0 = begin; t0 < end; t0 += DA_TILE)
    {
        int tileLen = min(DA_TILE, end - t0);
        // Scores: one warp per key, lanes across the head dimension (coalesced rows).
        for (int j = warp; j < tileLen; j += DA_WARPS)
        {
            int pos = t0 + j;
            long long slot = (long long)table[pos / blockSize] * blockSize + pos % blockSize;
            long long row = (slot * kvHeads + kvh) * headDim;
            if (lane == 0) slotRows[j] = row;
            const bf16_t* k = keyCache + row;
            float dots[DA_MAX_GROUP];
#pragma unroll
            for (int g = 0; g < DA_MAX_GROUP; g++) dots[g] = 0.0f;
            for (int d = lane * 2; d < headDim; d += 64)
            {
                unsigned int kk = *(const unsigned int*)(k + d);
                float k0 = __uint_as_float(kk << 16), k1 = __uint_as_float(kk & 0xffff0000u);
#pragma unroll
                for (int g = 0; g < DA_MAX_GROUP; g++)
                    if (g < group) dots[g] += q[g * headDim + d] * k0 + q[g * headDim + d + 1] * k1;
            }
#pragma unroll
            for (int g = 0; g < DA_MAX_GROUP; g++)
            {
                if (g < group)
                {
                    float v = warp_sum(dots[g]);
                    if (lane == 0) scores[g * DA_TILE + j] = v;
                }
            }
        }
        __syncthreads();
        // Online softmax bookkeeping: one warp per head.
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
        // Values: each thread owns head dimensions tid, tid + DA_THREADS, ...
#pragma unroll
        for (int i = 0; i < DA_MAX_DIMS; i++)
        {
            int d = tid + i * DA_THREADS;
            if (d < headDim)
            {
#pragma unroll
                for (int g = 0; g < DA_MAX_GROUP; g++) if (g < group) acc[g][i] *= tileScale[g];
                for (int j = 0; j < tileLen; j++)
                {
                    float v = bf16_to_f32(valueCache[slotRows[j] + d]);
#pragma unroll
                    for (int g = 0; g < DA_MAX_GROUP; g++) if (g < group) acc[g][i] += scores[g * DA_TILE + j] * v;
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int g = 0; g < DA_MAX_GROUP; g++)
    {
        if (g >= group) break;
        int h = kvh * group + g;
        if (numSplits == 1)
        {
            float inverse = headSum[g] > 0.0f ? 1.0f / headSum[g] : 0.0f;
#pragma unroll
            for (int i = 0; i < DA_MAX_DIMS; i++)
            {
                int d = tid + i * DA_THREADS;
                if (d < headDim) out[((size_t)s * heads + h) * headDim + d] = f32_to_bf16(acc[g][i] * inverse);
            }
        }
        else
        {
            size_t part = ((size_t)s * heads + h) * numSplits + split;
#pragma unroll
            for (int i = 0; i < DA_MAX_DIMS; i++)
            {
                int d = tid + i * DA_THREADS;
                if (d < headDim) partialOut[part * headDim + d] = acc[g][i];
            }
            if (tid == 0) { partialMax[part] = headMax[g]; partialSum[part] = headSum[g]; }
        }
    }
}

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
