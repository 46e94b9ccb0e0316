// Paged KV cache and attention. Cache layout [numBlocks, blockSize, kvHeads, headDim]: slot s of the
// flattened (block, offset) axis starts at s * kvHeads * headDim.

// One block per token; negative slots (padding) are skipped.
extern "C" __global__ void write_kv_cache_bf16(const bf16_t* key, const bf16_t* value, bf16_t* keyCache, bf16_t* valueCache,
    const int* slotMapping, int rowElements)
{
    int t = blockIdx.x;
    int slot = slotMapping[t];
    if (slot < 0) return;
    const bf16_t* k = key + (size_t)t * rowElements;
    const bf16_t* v = value + (size_t)t * rowElements;
    bf16_t* kc = keyCache + (size_t)slot * rowElements;
    bf16_t* vc = valueCache + (size_t)slot * rowElements;
    for (int i = threadIdx.x; i < rowElements; i += blockDim.x) { kc[i] = k[i]; vc[i] = v[i]; }
}

// The same into a float8_e4m3fn cache (per-tensor scale 1.0): each bf16 value rounds to nearest e4m3,
// saturating at +-448.
extern "C" __global__ void write_kv_cache_fp8(const bf16_t* key, const bf16_t* value, unsigned char* keyCache,
    unsigned char* valueCache, const int* slotMapping, int rowElements)
{
    int t = blockIdx.x;
    int slot = slotMapping[t];
    if (slot < 0) return;
    const bf16_t* k = key + (size_t)t * rowElements;
    const bf16_t* v = value + (size_t)t * rowElements;
    unsigned char* kc = keyCache + (size_t)slot * rowElements;
    unsigned char* vc = valueCache + (size_t)slot * rowElements;
    for (int i = threadIdx.x; i < rowElements; i += blockDim.x)
    {
        kc[i] = (unsigned char)f32_to_fp8e4m3(bf16_to_f32(k[i]));
        vc[i] = (unsigned char)f32_to_fp8e4m3(bf16_to_f32(v[i]));
    }
}

template <bool FP8>
__device__ __forceinline__ float kv_element(const void* cache, long long index)
{
    return FP8 ? fp8e4m3_to_f32(((const unsigned char*)cache)[index]) : bf16_to_f32(((const bf16_t*)cache)[index]);
}

#define ATTENTION_THREADS 128
#define ATTENTION_MAX_DIMS_PER_THREAD 4

// One block of ATTENTION_THREADS per (query token, head); serves decode and (chunked) prefill alike.
// Keys are visited in chunks of one key per thread with an online softmax in F32. The query row j of
// sequence s sits at position seqLens[s] - queryLen + j and sees cache positions 0..that position.
// Dynamic shared memory: headDim floats (the scaled query).
template <bool FP8>
__device__ __forceinline__ void paged_attention(
    const bf16_t* query, const void* keyCache, const void* valueCache,
    const int* queryStartLocs, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, int numSeqs,
    int heads, int kvHeads, int headDim, int blockSize, float scale, bf16_t* out)
{
    extern __shared__ float scaledQuery[];
    __shared__ float scratch[32];
    __shared__ float probabilities[ATTENTION_THREADS];
    __shared__ long long slotRows[ATTENTION_THREADS];
    int t = blockIdx.x, h = blockIdx.y, tid = threadIdx.x;

    int lo = 0, hi = numSeqs - 1;
    while (lo < hi)
    {
        int mid = (lo + hi + 1) >> 1;
        if (queryStartLocs[mid] <= t) lo = mid; else hi = mid - 1;
    }
    int s = lo;
    int queryLen = queryStartLocs[s + 1] - queryStartLocs[s];
    int lastPosition = seqLens[s] - queryLen + (t - queryStartLocs[s]);
    int kvHead = h / (heads / kvHeads);
    const int* blockTable = blockTables + (size_t)s * maxBlocksPerSeq;

    const bf16_t* q = query + ((size_t)t * heads + h) * headDim;
    for (int d = tid; d < headDim; d += blockDim.x) scaledQuery[d] = bf16_to_f32(q[d]) * scale;
    __syncthreads();

    float runningMax = HEARTH_NEG_INF, runningSum = 0.0f;
    float acc[ATTENTION_MAX_DIMS_PER_THREAD];
    for (int i = 0; i < ATTENTION_MAX_DIMS_PER_THREAD; i++) acc[i] = 0.0f;

    for (int base = 0; base <= lastPosition; base += blockDim.x)
    {
        int j = base + tid;
        float score = HEARTH_NEG_INF;
        if (j <= lastPosition)
        {
            long long slot = (long long)blockTable[j / blockSize] * blockSize + j % blockSize;
            long long row = (slot * kvHeads + kvHead) * headDim;
            slotRows[tid] = row;
            float dot = 0.0f;
            for (int d = 0; d < headDim; d++) dot += scaledQuery[d] * kv_element<FP8>(keyCache, row + d);
            score = dot;
        }
        float newMax = fmaxf(runningMax, block_max(score, scratch));
        float p = j <= lastPosition ? expf(score - newMax) : 0.0f;
        probabilities[tid] = p;
        float correction = expf(runningMax - newMax);
        runningSum = runningSum * correction + block_sum(p, scratch);
        int numValid = min((int)blockDim.x, lastPosition + 1 - base);
        for (int i = 0; i < ATTENTION_MAX_DIMS_PER_THREAD; i++)
        {
            int d = tid + i * blockDim.x;
            if (d >= headDim) break;
            float a = acc[i] * correction;
            for (int jj = 0; jj < numValid; jj++) a += probabilities[jj] * kv_element<FP8>(valueCache, slotRows[jj] + d);
            acc[i] = a;
        }
        runningMax = newMax;
        __syncthreads();
    }

    bf16_t* o = out + ((size_t)t * heads + h) * headDim;
    float inverseSum = 1.0f / runningSum;
    for (int i = 0; i < ATTENTION_MAX_DIMS_PER_THREAD; i++)
    {
        int d = tid + i * blockDim.x;
        if (d >= headDim) break;
        o[d] = f32_to_bf16(acc[i] * inverseSum);
    }
}

#define PAGED_ATTENTION_KERNEL(NAME, FP8) \
extern "C" __global__ void __launch_bounds__(ATTENTION_THREADS) NAME(const bf16_t* query, const void* keyCache, \
    const void* valueCache, const int* queryStartLocs, const int* seqLens, const int* blockTables, int maxBlocksPerSeq, \
    int numSeqs, int heads, int kvHeads, int headDim, int blockSize, float scale, bf16_t* out) \
{ \
    paged_attention<FP8>(query, keyCache, valueCache, queryStartLocs, seqLens, blockTables, maxBlocksPerSeq, numSeqs, \
        heads, kvHeads, headDim, blockSize, scale, out); \
}

PAGED_ATTENTION_KERNEL(paged_attention_bf16, false)
PAGED_ATTENTION_KERNEL(paged_attention_fp8, true)
