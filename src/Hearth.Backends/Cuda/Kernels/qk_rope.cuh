// Shared by norm.cu (qk_norm_rope_*) and decode_mma.cu (the decode attention with the q/k norm, RoPE and the KV
// write fused in), so both store bit-identical queries, keys and cache rows. KernelCompiler inlines this header
// where a module includes it.

// One bf16 value into a paged cache row, as write_kv_cache_bf16/_fp8 (attention.cu) would store it.
__device__ __forceinline__ void qr_cache_store(void* cache, bool fp8, size_t element, bf16_t v)
{
    if (fp8) ((unsigned char*)cache)[element] = (unsigned char)f32_to_fp8e4m3(bf16_to_f32(v));
    else ((bf16_t*)cache)[element] = v;
}

// One query or key head (src: its headDim = 32 * PER_LANE values in the q|k|v row) after its RMSNorm (when norm is
// given) and NeoX RoPE on the first rotaryDim dims, in f32: lane l gets dims l, l + 32, ... in x, so with
// (rotaryDim / 2) % 32 == 0 both halves of a rotary pair sit in the same lane. The rotation's cosines and sines
// (already times attentionScaling) come from per-token tables when TABLE is set, else the lane computes them with
// the same float operations.
template <int PER_LANE, bool TABLE>
__device__ __forceinline__ void qk_norm_rope_values(const bf16_t* src, const bf16_t* norm, float epsilon, float position,
    const float* inverseFrequencies, int rotaryDim, float attentionScaling, const float* cosTable, const float* sinTable,
    int lane, float* x)
{
    const int headDim = 32 * PER_LANE;
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
}

// Head h of token t's q|k|v row into query, key or value (queries and keys normed and rotated), one warp, as
// qk_norm_rope_bf16 does with a block. KV: also store the key and value heads into the paged cache at `slot`
// (skipped when negative), which is what WriteKvCache does next in a decoder layer: one launch instead of two.
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
    float x[PER_LANE];
    qk_norm_rope_values<PER_LANE, TABLE>(src, isQuery ? queryNorm : keyNorm, epsilon, position, inverseFrequencies, rotaryDim,
        attentionScaling, cosTable, sinTable, lane, x);
    size_t row = ((size_t)slot * kvHeads + (h - heads)) * headDim;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++)
    {
        bf16_t v = f32_to_bf16(x[j]);
        dst[j * 32 + lane] = v;
        if (KV && !isQuery && slot >= 0) qr_cache_store(keyCache, cacheFp8, row + j * 32 + lane, v);
    }
}
