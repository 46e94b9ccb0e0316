// Sampling on the GPU: one block of 1024 threads per row of logits [rows, vocab] F32, so that only token ids
// cross to the host. vLLM's order, as the CPU Sampler: penalties, then temperature, min-p, top-k, top-p and a
// draw. Cut points are found by bisection on the bit pattern of a probability threshold (positive floats order
// as their bits), so no sort is needed; every reduction has a fixed shape, so the same inputs give the same
// token on every run. The draw walks the kept tokens in vocabulary order (the CPU walks them likeliest first):
// the distribution is the same, the mapping from the uniform number to a token is not.

#define SAMPLE_THREADS 1024

// Matches Hearth.Backends.Cuda.SamplingRowParams word for word.
struct SampleParams
{
    float temperature;   // below 1e-5: greedy
    int topK;            // <= 0: off
    float topP;          // 1: off
    float minP;          // 0: off
    float repetition;    // 1: off
    float presence;
    float frequency;
    float uniform;       // in [0, 1), drawn on the host from the request's own generator
};

__device__ int block_sum_int(int v, int* scratch)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < numWarps ? scratch[lane] : 0;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Unnormalized probability relative to the likeliest token (whose weight is exactly 1).
__device__ __forceinline__ float sample_weight(float logit, float maxLogit, float invTemperature)
{
    return expf((logit - maxLogit) * invTemperature);
}

// What a weight threshold t keeps over the whole block: the tokens (T = int) or their summed weight (T = float)
// whose weight is > 0 and >= t. Top-k's and top-p's searches both bisect t with it.
__device__ __forceinline__ int kept_share(int, float) { return 1; }
__device__ __forceinline__ float kept_share(float, float w) { return w; }
__device__ __forceinline__ int kept_total(int v, float*, int* indices) { return block_sum_int(v, indices); }
__device__ __forceinline__ float kept_total(float v, float* values, int*) { return block_sum(v, values); }

template <typename T>
__device__ __forceinline__ T kept_at(const float* row, int vocab, float maxLogit, float invTemperature, float t, float* values, int* indices)
{
    T kept = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
    {
        float w = sample_weight(row[i], maxLogit, invTemperature);
        if (w > 0 && w >= t) kept += kept_share(kept, w);
    }
    return kept_total(kept, values, indices);
}

// penaltyTokens[penaltyOffsets[r] .. penaltyOffsets[r+1]) lists each distinct token of row r's prompt and output
// once (the host deduplicates), with its count in the output: repetition penalty first, then frequency and
// presence, as the CPU sampler applies them. logits are changed in place.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS) sample_rows_f32(float* logits, int vocab,
    const SampleParams* params, const int* penaltyOffsets, const int* penaltyTokens, const int* penaltyCounts, int* out)
{
    __shared__ float values[32];
    __shared__ int indices[32];
    __shared__ float chunkEnds[SAMPLE_THREADS];   // inclusive running sums of each thread's chunk of kept weight
    __shared__ int chosen;
    float* row = logits + (size_t)blockIdx.x * vocab;
    const SampleParams p = params[blockIdx.x];

    int begin = penaltyOffsets[blockIdx.x], end = penaltyOffsets[blockIdx.x + 1];
    for (int i = begin + (int)threadIdx.x; i < end; i += blockDim.x)
    {
        int t = penaltyTokens[i];
        if ((unsigned)t >= (unsigned)vocab) continue;
        float l = row[t];
        if (p.repetition != 1.0f) l = l > 0 ? l / p.repetition : l * p.repetition;
        int count = penaltyCounts[i];
        if (count > 0) l -= __fadd_rn(__fmul_rn(p.frequency, (float)count), p.presence);
        row[t] = l;
    }
    __syncthreads();

    if (p.temperature < 1e-5f)
    {
        int best = block_argmax(row, vocab, values, indices);
        if (threadIdx.x == 0) out[blockIdx.x] = best;
        return;
    }

    float maxLogit = HEARTH_NEG_INF;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) maxLogit = fmaxf(maxLogit, row[i]);
    maxLogit = block_max(maxLogit, values);
    if (!(maxLogit > HEARTH_NEG_INF) || maxLogit != maxLogit)
    {
        if (threadIdx.x == 0) out[blockIdx.x] = 0;   // nothing finite to sample from
        return;
    }
    const float invTemperature = 1.0f / p.temperature;
    // Tokens below min-p (or whose weight underflows to 0) never take part.
    const float floorWeight = p.minP > 0 ? p.minP : 0.0f;

    // Top-k: the largest threshold that still keeps at least k candidates is the k-th largest weight.
    float threshold = floorWeight;
    if (p.topK > 0)
    {
        int candidates = kept_at<int>(row, vocab, maxLogit, invTemperature, floorWeight, values, indices);
        if (p.topK < candidates)
        {
            unsigned int lo = __float_as_uint(floorWeight), hi = 0x3f800001u;   // count(lo) >= k > count(hi)
            while (hi - lo > 1)
            {
                unsigned int mid = lo + ((hi - lo) >> 1);
                float t = __uint_as_float(mid);
                int count = kept_at<int>(row, vocab, maxLogit, invTemperature, t, values, indices);
                if (count >= p.topK) lo = mid; else hi = mid;
            }
            threshold = fmaxf(threshold, __uint_as_float(lo));
        }
    }

    // Top-p: the largest threshold whose kept weight still reaches topP of what top-k and min-p left.
    if (p.topP < 1.0f)
    {
        float total = kept_at<float>(row, vocab, maxLogit, invTemperature, threshold, values, indices);
        const float limit = p.topP * total;
        unsigned int lo = __float_as_uint(threshold), hi = 0x3f800001u;   // sum(lo) >= limit > sum(hi)
        while (hi - lo > 1)
        {
            unsigned int mid = lo + ((hi - lo) >> 1);
            float t = __uint_as_float(mid);
            float kept = kept_at<float>(row, vocab, maxLogit, invTemperature, t, values, indices);
            if (kept >= limit) lo = mid; else hi = mid;
        }
        threshold = fmaxf(threshold, __uint_as_float(lo));
    }

    // The draw: each thread owns one contiguous chunk of the vocabulary; one thread chains the chunk sums in
    // order (so they only grow), then the thread whose chunk holds the target walks it.
    const int chunk = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int first = threadIdx.x * chunk, last = min(first + chunk, vocab);
    float mine = 0;
    for (int i = first; i < last; i++)
    {
        float w = sample_weight(row[i], maxLogit, invTemperature);
        if (w > 0 && w >= threshold) mine += w;
    }
    chunkEnds[threadIdx.x] = mine;
    if (threadIdx.x == 0) chosen = -1;
    __syncthreads();
    if (threadIdx.x == 0)
    {
        float running = 0;
        for (int j = 0; j < SAMPLE_THREADS; j++) { running += chunkEnds[j]; chunkEnds[j] = running; }
    }
    __syncthreads();
    const float total = chunkEnds[SAMPLE_THREADS - 1];
    const float target = p.uniform * total;
    const float start = threadIdx.x == 0 ? 0.0f : chunkEnds[threadIdx.x - 1];
    const bool hasWeight = chunkEnds[threadIdx.x] > start;
    // The chunk that holds the target, or the last chunk with weight when rounding put the target at the total.
    bool owner = hasWeight && ((target >= start && target < chunkEnds[threadIdx.x]) || (target >= total && chunkEnds[threadIdx.x] == total));
    if (owner)
    {
        float running = start;
        int pick = -1, lastKept = -1;
        for (int i = first; i < last; i++)
        {
            float w = sample_weight(row[i], maxLogit, invTemperature);
            if (!(w > 0 && w >= threshold)) continue;
            lastKept = i;
            running += w;
            if (target < running) { pick = i; break; }
        }
        atomicMax(&chosen, pick >= 0 ? pick : lastKept);
    }
    __syncthreads();
    if (threadIdx.x == 0)
    {
        // No owner only when nothing was kept, which the likeliest token (weight 1) rules out; argmax then.
        int pick = chosen;
        if (pick < 0)
        {
            pick = 0;
            for (int i = 1; i < vocab; i++) if (row[i] > row[pick]) pick = i;
        }
        out[blockIdx.x] = pick;
    }
}

// Run-ahead decoding: the next decode step's inputs from this step's, on the stream, so the host can enqueue that step
// before it has read this step's picks. Row r feeds the token it just picked at the next position, whose KV slot is in
// the same block table (the host checked that the block is allocated). Padded rows (r >= rows) keep their inputs.
// Same rule as the host's DecodeRunAhead.Advance.
extern "C" __global__ void advance_decode_inputs(const int* __restrict__ picked, int* tokenIds, int* positions, int* slotMapping,
    int* seqLens, const int* __restrict__ blockTables, int rows, int maxBlocksPerSeq, int blockSize)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    int pos = positions[r] + 1;
    tokenIds[r] = picked[r];
    positions[r] = pos;
    seqLens[r] = pos + 1;
    slotMapping[r] = blockTables[(size_t)r * maxBlocksPerSeq + pos / blockSize] * blockSize + pos % blockSize;
}
