// Memory-bound element-wise ops. Grid-stride loops so that any grid size is correct. The decode step's kernels
// wait first, for programmatic dependent launch (common.cu).

// One block per token. Ids outside the vocabulary produce a zero row rather than reading out of bounds.
extern "C" __global__ void embedding_bf16(const bf16_t* table, const int* ids, bf16_t* out, int hidden, int vocab)
{
    HEARTH_PDL_ENTRY();
    int t = blockIdx.x;
    int id = ids[t];
    bf16_t* dst = out + (size_t)t * hidden;
    if (id < 0 || id >= vocab)
    {
        for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = 0;
        return;
    }
    const bf16_t* row = table + (size_t)id * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = row[i];
}

extern "C" __global__ void add_bf16(const bf16_t* a, const bf16_t* b, bf16_t* out, long long n)
{
    HEARTH_PDL_ENTRY();
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = f32_to_bf16(bf16_to_f32(a[i]) + bf16_to_f32(b[i]));
}

extern "C" __global__ void add_f32(const float* a, const float* b, float* out, long long n)
{
    HEARTH_PDL_ENTRY();
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = a[i] + b[i];
}

// gateUp [rows, 2*inter] holds gate then up; out [rows, inter].
extern "C" __global__ void silu_mul_bf16(const bf16_t* gateUp, bf16_t* out, int inter, long long total)
{
    HEARTH_PDL_ENTRY();
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        long long row = i / inter;
        int col = (int)(i - row * inter);
        const bf16_t* src = gateUp + row * 2 * inter;
        float gate = bf16_to_f32(src[col]);
        float up = bf16_to_f32(src[inter + col]);
        out[i] = f32_to_bf16(gate / (1.0f + expf(-gate)) * up);
    }
}

// Copies whole rows of 2-byte units (any dtype whose row size is even). One block per output row.
extern "C" __global__ void gather_rows_u16(const unsigned short* input, const int* rows, unsigned short* out, int rowUnits)
{
    int r = blockIdx.x;
    const unsigned short* src = input + (size_t)rows[r] * rowUnits;
    unsigned short* dst = out + (size_t)r * rowUnits;
    for (int i = threadIdx.x; i < rowUnits; i += blockDim.x) dst[i] = src[i];
}

// out [rows, outFeatures] (bf16 or f32) += bias [outFeatures] (bf16).
extern "C" __global__ void add_bias(void* out, const bf16_t* bias, int outFeatures, long long total, int outIsF32)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        float b = bf16_to_f32(bias[i % outFeatures]);
        if (outIsF32) ((float*)out)[i] += b;
        else ((bf16_t*)out)[i] = f32_to_bf16(bf16_to_f32(((bf16_t*)out)[i]) + b);
    }
}

// Greedy sampling on the GPU: one block per row of logits [rows, vocab] F32; the first index of the largest
// value (the CPU sampler's tie rule), so that only token ids cross to the host. NaN never wins.
extern "C" __global__ void argmax_rows_f32(const float* logits, int vocab, int* out)
{
    HEARTH_PDL_ENTRY();
    __shared__ float bestValues[32];
    __shared__ int bestIndices[32];
    int best = block_argmax(logits + (size_t)blockIdx.x * vocab, vocab, bestValues, bestIndices);
    if (threadIdx.x == 0) out[blockIdx.x] = best;
}

// The greedy pick spread over the GPU: block (split, row) scans one chunk of its row (16-byte loads where the row
// and chunk allow), writes its best (value, index) to the partials [rows, splits], and the last block of the row to
// finish, told by an atomic counter, merges the partials in split order, writes out[row] and resets the counter for
// the next launch. One block a row read a 151,936-entry row in ~56 µs on an H100, a few µs of bandwidth.
extern "C" __global__ void argmax_rows_split_f32(const float* logits, int vocab, int chunk, float* partialValues,
    int* partialIndices, unsigned int* counters, int* out)
{
    HEARTH_PDL_ENTRY();
    __shared__ float bestValues[32];
    __shared__ int bestIndices[32];
    __shared__ bool isLast;
    int row = blockIdx.y, split = blockIdx.x, splits = gridDim.x;
    const float* base = logits + (size_t)row * vocab;
    int begin = split * chunk, end = min(vocab, begin + chunk);
    float best = HEARTH_NEG_INF;
    int index = 0x7fffffff;
    int scalarFrom = begin;
    if ((((size_t)(base + begin)) & 15) == 0)
    {
        // Each thread's indices rise, so a strict > keeps its lowest index among equal values.
        int vectorEnd = begin + ((end - begin) & ~3);
        for (int i = begin + 4 * threadIdx.x; i < vectorEnd; i += 4 * blockDim.x)
        {
            float4 v = __ldcs((const float4*)(base + i));
            if (v.x > best) { best = v.x; index = i; }
            if (v.y > best) { best = v.y; index = i + 1; }
            if (v.z > best) { best = v.z; index = i + 2; }
            if (v.w > best) { best = v.w; index = i + 3; }
        }
        scalarFrom = vectorEnd;
    }
    for (int i = scalarFrom + threadIdx.x; i < end; i += blockDim.x)
    {
        float v = base[i];
        if (v > best) { best = v; index = i; }
    }
    block_reduce_argmax(best, index, bestValues, bestIndices);
    if (threadIdx.x == 0)
    {
        partialValues[row * splits + split] = best;
        partialIndices[row * splits + split] = index;
        __threadfence();
        isLast = atomicAdd(&counters[row], 1u) == (unsigned int)(splits - 1);
    }
    __syncthreads();
    if (!isLast || threadIdx.x >= 32) return;
    __threadfence();
    best = HEARTH_NEG_INF;
    index = 0x7fffffff;
    for (int s = threadIdx.x; s < splits; s += 32)
    {
        float v = __ldcg(partialValues + row * splits + s);
        int i = __ldcg(partialIndices + row * splits + s);
        if (v > best || (v == best && i < index)) { best = v; index = i; }
    }
    warp_reduce_argmax(best, index);
    if (threadIdx.x == 0)
    {
        out[row] = index == 0x7fffffff ? 0 : index;
        counters[row] = 0;
    }
}

// silu_mul_bf16 eight elements at a time (inter % 8 == 0, 16-byte aligned rows): one 16-byte load of gate,
// one of up, one store, and one division per eight elements.
extern "C" __global__ void silu_mul_bf16x8(const bf16_t* gateUp, bf16_t* out, int inter, long long totalChunks)
{
    HEARTH_PDL_ENTRY();
    int chunksPerRow = inter >> 3;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < totalChunks; i += (long long)gridDim.x * blockDim.x)
    {
        long long row = i / chunksPerRow;
        int c = (int)(i - row * chunksPerRow);
        const uint4* src = (const uint4*)(gateUp + row * 2 * inter);
        float gate[8], up[8], y[8];
        bf16x8_to_f32(src[c], gate);
        bf16x8_to_f32(src[chunksPerRow + c], up);
#pragma unroll
        for (int j = 0; j < 8; j++) y[j] = gate[j] / (1.0f + expf(-gate[j])) * up[j];
        ((uint4*)out)[i] = f32_to_bf16x8(y);
    }
}
