// RMSNorm family, one block per row, sums of squares in F32. The decode kernels (rms_norm*, add_rms_norm*,
// qk_norm_rope_{warp,kv_warp,token}) are written for programmatic dependent launch: they wait first (common.cu).

// One row's RMSNorm, with residual += input first when ADD (the residual is stored as bf16, as the model's
// residual stream is). Each thread reads back only the elements it wrote itself, so no barrier is needed between
// the passes.
template <bool ADD>
__device__ __forceinline__ void rms_norm_row(bf16_t* residual, const bf16_t* input, const bf16_t* weight, bf16_t* out,
    int dim, float epsilon)
{
    __shared__ float scratch[32];
    const bf16_t* x = input + (size_t)blockIdx.x * dim;
    bf16_t* r = ADD ? residual + (size_t)blockIdx.x * dim : nullptr;
    bf16_t* y = out + (size_t)blockIdx.x * dim;
    float sumSquares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
    {
        float v = bf16_to_f32(x[i]);
        if (ADD)
        {
            bf16_t sum = f32_to_bf16(bf16_to_f32(r[i]) + v);
            r[i] = sum;
            v = bf16_to_f32(sum);
        }
        sumSquares += v * v;
    }
    float inverseRms = rsqrtf(block_sum(sumSquares, scratch) / dim + epsilon);
    const bf16_t* normed = ADD ? r : x;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        y[i] = f32_to_bf16(bf16_to_f32(normed[i]) * inverseRms * bf16_to_f32(weight[i]));
}

extern "C" __global__ void rms_norm_bf16(const bf16_t* input, const bf16_t* weight, bf16_t* out, int dim, float epsilon)
{
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_NORM);
    rms_norm_row<false>(nullptr, input, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_bf16(bf16_t* residual, const bf16_t* input, const bf16_t* weight, bf16_t* out,
    int dim, float epsilon)
{
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_NORM);
    rms_norm_row<true>(residual, input, weight, out, dim, epsilon);
}

// One block per (token, head of q|k|v). qkv [tokens, (heads + 2*kvHeads) * headDim]; q [tokens, heads, headDim];
// k, v [tokens, kvHeads, headDim]. Per-head RMSNorm of q and k (when the weight is given), then NeoX RoPE on the
// first rotaryDim dims with cos/sin of position * invFreq computed in F32 and multiplied by attentionScaling.
// Dynamic shared memory: headDim floats.
extern "C" __global__ void qk_norm_rope_bf16(const bf16_t* qkv, const bf16_t* queryNorm, const bf16_t* keyNorm, float epsilon,
    const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling,
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, int headDim)
{
    extern __shared__ float head[];
    __shared__ float scratch[32];
    int t = blockIdx.x, h = blockIdx.y;
    const bf16_t* src = qkv + (size_t)t * (heads + 2 * kvHeads) * headDim + (size_t)h * headDim;
    if (h >= heads + kvHeads)
    {
        bf16_t* dst = value + ((size_t)t * kvHeads + (h - heads - kvHeads)) * headDim;
        for (int i = threadIdx.x; i < headDim; i += blockDim.x) dst[i] = src[i];
        return;
    }
    bool isQuery = h < heads;
    bf16_t* dst = isQuery ? query + ((size_t)t * heads + h) * headDim : key + ((size_t)t * kvHeads + (h - heads)) * headDim;
    const bf16_t* norm = isQuery ? queryNorm : keyNorm;
    float sumSquares = 0.0f;
    for (int i = threadIdx.x; i < headDim; i += blockDim.x) { float v = bf16_to_f32(src[i]); head[i] = v; sumSquares += v * v; }
    if (norm != 0)
    {
        float inverseRms = rsqrtf(block_sum(sumSquares, scratch) / headDim + epsilon);
        for (int i = threadIdx.x; i < headDim; i += blockDim.x) head[i] = head[i] * inverseRms * bf16_to_f32(norm[i]);
    }
    __syncthreads();
    int half = rotaryDim / 2;
    float position = (float)positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x)
    {
        float sine, cosine;
        sincosf(position * inverseFrequencies[i], &sine, &cosine);
        cosine *= attentionScaling;
        sine *= attentionScaling;
        float x1 = head[i], x2 = head[i + half];
        dst[i] = f32_to_bf16(x1 * cosine - x2 * sine);
        dst[i + half] = f32_to_bf16(x2 * cosine + x1 * sine);
    }
    for (int i = rotaryDim + threadIdx.x; i < headDim; i += blockDim.x) dst[i] = f32_to_bf16(head[i]);
}

// The same two norms with 16-byte loads and stores (dim % 8 == 0, 16-byte aligned rows).
template <bool ADD>
__device__ __forceinline__ void rms_norm_row_x8(bf16_t* residual, const bf16_t* input, const bf16_t* weight, bf16_t* out,
    int dim, float epsilon)
{
    __shared__ float scratch[32];
    const uint4* x = (const uint4*)(input + (size_t)blockIdx.x * dim);
    uint4* r = ADD ? (uint4*)(residual + (size_t)blockIdx.x * dim) : nullptr;
    const uint4* w = (const uint4*)weight;
    uint4* y = (uint4*)(out + (size_t)blockIdx.x * dim);
    int chunks = dim >> 3;
    float sumSquares = 0.0f;
    for (int c = threadIdx.x; c < chunks; c += blockDim.x)
    {
        float a[8];
        bf16x8_to_f32(x[c], a);
        if (ADD)
        {
            float b[8];
            bf16x8_to_f32(r[c], b);
#pragma unroll
            for (int j = 0; j < 8; j++) a[j] += b[j];
            // Rounded to bf16 before squaring: the norm sees the residual as stored.
            uint4 packed = f32_to_bf16x8(a);
            r[c] = packed;
            bf16x8_to_f32(packed, a);
        }
#pragma unroll
        for (int j = 0; j < 8; j++) sumSquares += a[j] * a[j];
    }
    float inverseRms = rsqrtf(block_sum(sumSquares, scratch) / dim + epsilon);
    const uint4* normed = ADD ? r : x;
    for (int c = threadIdx.x; c < chunks; c += blockDim.x)
    {
        float a[8], g[8];
        bf16x8_to_f32(normed[c], a);
        bf16x8_to_f32(w[c], g);
#pragma unroll
        for (int j = 0; j < 8; j++) a[j] = a[j] * inverseRms * g[j];
        y[c] = f32_to_bf16x8(a);
    }
}

extern "C" __global__ void rms_norm_bf16x8(const bf16_t* input, const bf16_t* weight, bf16_t* out, int dim, float epsilon)
{
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_NORM);
    rms_norm_row_x8<false>(nullptr, input, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_bf16x8(bf16_t* residual, const bf16_t* input, const bf16_t* weight, bf16_t* out,
    int dim, float epsilon)
{
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_NORM);
    rms_norm_row_x8<true>(residual, input, weight, out, dim, epsilon);
}

// qk_norm_rope_bf16 with one warp per (token, head): lane l owns dims l, l + 32, ... (PER_LANE of them), so
// with (rotaryDim / 2) % 32 == 0 both halves of a rotary pair sit in the same lane. No block barriers.
// The rotation's cosines and sines (already times attentionScaling) come from per-token tables when TABLE is
// set, else the lane computes them; either way the same float operations, so both kernels agree bit for bit.
#define QR_WARPS 4
#define QT_WARPS 8

// One bf16 value into a paged cache row, as write_kv_cache_bf16/_fp8 (attention.cu) would store it.
__device__ __forceinline__ void qr_cache_store(void* cache, bool fp8, size_t element, bf16_t v)
{
    if (fp8) ((unsigned char*)cache)[element] = (unsigned char)f32_to_fp8e4m3(bf16_to_f32(v));
    else ((bf16_t*)cache)[element] = v;
}

// KV: also store the token's key and value heads into the paged cache at slotMapping[t] (skipped for a negative
// slot), which is what WriteKvCache does next in a decoder layer: one launch instead of two.
template <int PER_LANE, bool TABLE, bool KV = false>
__device__ __forceinline__ void qk_norm_rope_head(const bf16_t* qkv, const bf16_t* queryNorm, const bf16_t* keyNorm, float epsilon,
    float position, const float* inverseFrequencies, int rotaryDim, float attentionScaling, const float* cosTable, const float* sinTable,
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, int t, int h, int lane,
    void* keyCache = 0, void* valueCache = 0, int slot = -1, bool cacheFp8 = false)
{
    const int headDim = 32 * PER_LANE;
    int total = heads + 2 * kvHeads;
    const bf16_t* src = qkv + ((size_t)t * total + h) * headDim;
    if (h >= heads + kvHeads)
    {
        bf16_t* dst = value + ((size_t)t * kvHeads + (h - heads - kvHeads)) * headDim;
        size_t row = ((size_t)slot * kvHeads + (h - heads - kvHeads)) * headDim;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++)
        {
            bf16_t v = src[j * 32 + lane];
            dst[j * 32 + lane] = v;
            if (KV && slot >= 0) qr_cache_store(valueCache, cacheFp8, row + j * 32 + lane, v);
        }
        return;
    }
    bool isQuery = h < heads;
    bf16_t* dst = isQuery ? query + ((size_t)t * heads + h) * headDim : key + ((size_t)t * kvHeads + (h - heads)) * headDim;
    const bf16_t* norm = isQuery ? queryNorm : keyNorm;
    float x[PER_LANE];
    float sumSquares = 0.0f;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) { x[j] = bf16_to_f32(src[j * 32 + lane]); sumSquares += x[j] * x[j]; }
    if (norm != 0)
    {
        float inverseRms = rsqrtf(warp_sum(sumSquares) / headDim + epsilon);
#pragma unroll
        for (int j = 0; j < PER_LANE; j++) x[j] = x[j] * inverseRms * bf16_to_f32(norm[j * 32 + lane]);
    }
    int halfLanes = rotaryDim / 64;
#pragma unroll
    for (int j = 0; j < PER_LANE / 2; j++)
    {
        if (j >= halfLanes) break;
        float sine, cosine;
        if (TABLE) { cosine = cosTable[j * 32 + lane]; sine = sinTable[j * 32 + lane]; }
        else
        {
            sincosf(position * inverseFrequencies[j * 32 + lane], &sine, &cosine);
            cosine *= attentionScaling;
            sine *= attentionScaling;
        }
        float x1 = x[j], x2 = x[j + halfLanes];
        x[j] = x1 * cosine - x2 * sine;
        x[j + halfLanes] = x2 * cosine + x1 * sine;
    }
    size_t row = ((size_t)slot * kvHeads + (h - heads)) * headDim;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++)
    {
        bf16_t v = f32_to_bf16(x[j]);
        dst[j * 32 + lane] = v;
        if (KV && !isQuery && slot >= 0) qr_cache_store(keyCache, cacheFp8, row + j * 32 + lane, v);
    }
}

// Decode: grid (tokens, ceil(heads / QR_WARPS)), a warp per head, each lane computing its own rotation.
template <int PER_LANE>
__device__ __forceinline__ void qk_norm_rope_warp(const bf16_t* qkv, const bf16_t* queryNorm, const bf16_t* keyNorm, float epsilon,
    const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling,
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads)
{
    int t = blockIdx.x, h = blockIdx.y * QR_WARPS + (threadIdx.x >> 5);
    if (h >= heads + 2 * kvHeads) return;
    qk_norm_rope_head<PER_LANE, false>(qkv, queryNorm, keyNorm, epsilon, (float)positions[t], inverseFrequencies, rotaryDim,
        attentionScaling, 0, 0, query, key, value, heads, kvHeads, t, h, threadIdx.x & 31);
}

// Decode with the KV cache write fused in: the warp kernel's grid, plus the cache and the token's slot.
template <int PER_LANE>
__device__ __forceinline__ void qk_norm_rope_kv_warp(const bf16_t* qkv, const bf16_t* queryNorm, const bf16_t* keyNorm, float epsilon,
    const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling,
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, void* keyCache, void* valueCache, const int* slotMapping, int cacheFp8)
{
    int t = blockIdx.x, h = blockIdx.y * QR_WARPS + (threadIdx.x >> 5);
    if (h >= heads + 2 * kvHeads) return;
    qk_norm_rope_head<PER_LANE, false, true>(qkv, queryNorm, keyNorm, epsilon, (float)positions[t], inverseFrequencies, rotaryDim,
        attentionScaling, 0, 0, query, key, value, heads, kvHeads, t, h, threadIdx.x & 31, keyCache, valueCache, slotMapping[t], cacheFp8 != 0);
}

// Prefill: one block of QT_WARPS warps per token. The token's rotation table (rotaryDim / 2 cosines and sines) is
// computed once, not once per head, then the warps take the token's heads in turn.
template <int PER_LANE>
__device__ __forceinline__ void qk_norm_rope_token(const bf16_t* qkv, const bf16_t* queryNorm, const bf16_t* keyNorm, float epsilon,
    const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling,
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads)
{
    __shared__ float cosTable[16 * PER_LANE], sinTable[16 * PER_LANE];   // [rotaryDim / 2] of at most headDim / 2
    int t = blockIdx.x;
    float position = (float)positions[t];
    for (int i = threadIdx.x; i < rotaryDim / 2; i += blockDim.x)
    {
        float sine, cosine;
        sincosf(position * inverseFrequencies[i], &sine, &cosine);
        cosTable[i] = cosine * attentionScaling;
        sinTable[i] = sine * attentionScaling;
    }
    __syncthreads();
    for (int h = threadIdx.x >> 5; h < heads + 2 * kvHeads; h += QT_WARPS)
        qk_norm_rope_head<PER_LANE, true>(qkv, queryNorm, keyNorm, epsilon, position, inverseFrequencies, rotaryDim,
            attentionScaling, cosTable, sinTable, query, key, value, heads, kvHeads, t, h, threadIdx.x & 31);
}

#define QK_NORM_ROPE_WARP_KERNEL(PER_LANE, D) \
extern "C" __global__ void __launch_bounds__(32 * QR_WARPS) qk_norm_rope_warp_d##D(const bf16_t* qkv, const bf16_t* queryNorm, \
    const bf16_t* keyNorm, float epsilon, const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling, \
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, int headDim) \
{ \
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_ROPE); \
    qk_norm_rope_warp<PER_LANE>(qkv, queryNorm, keyNorm, epsilon, positions, inverseFrequencies, rotaryDim, attentionScaling, \
        query, key, value, heads, kvHeads); \
} \
extern "C" __global__ void __launch_bounds__(32 * QR_WARPS) qk_norm_rope_kv_warp_d##D(const bf16_t* qkv, const bf16_t* queryNorm, \
    const bf16_t* keyNorm, float epsilon, const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling, \
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, int headDim, void* keyCache, void* valueCache, \
    const int* slotMapping, int cacheFp8) \
{ \
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_ROPE); \
    qk_norm_rope_kv_warp<PER_LANE>(qkv, queryNorm, keyNorm, epsilon, positions, inverseFrequencies, rotaryDim, attentionScaling, \
        query, key, value, heads, kvHeads, keyCache, valueCache, slotMapping, cacheFp8); \
} \
extern "C" __global__ void __launch_bounds__(32 * QT_WARPS) qk_norm_rope_token_d##D(const bf16_t* qkv, const bf16_t* queryNorm, \
    const bf16_t* keyNorm, float epsilon, const int* positions, const float* inverseFrequencies, int rotaryDim, float attentionScaling, \
    bf16_t* query, bf16_t* key, bf16_t* value, int heads, int kvHeads, int headDim) \
{ \
    HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_ROPE); \
    qk_norm_rope_token<PER_LANE>(qkv, queryNorm, keyNorm, epsilon, positions, inverseFrequencies, rotaryDim, attentionScaling, \
        query, key, value, heads, kvHeads); \
}

QK_NORM_ROPE_WARP_KERNEL(2, 64)
QK_NORM_ROPE_WARP_KERNEL(4, 128)
QK_NORM_ROPE_WARP_KERNEL(8, 256)
