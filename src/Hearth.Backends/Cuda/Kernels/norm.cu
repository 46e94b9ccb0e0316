// RMSNorm family, one block per row, sums of squares in F32.

extern "C" __global__ void rms_norm_bf16(const bf16_t* input, const bf16_t* weight, bf16_t* out, int dim, float epsilon)
{
    __shared__ float scratch[32];
    const bf16_t* x = input + (size_t)blockIdx.x * dim;
    bf16_t* y = out + (size_t)blockIdx.x * dim;
    float sumSquares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) { float v = bf16_to_f32(x[i]); sumSquares += v * v; }
    float inverseRms = rsqrtf(block_sum(sumSquares, scratch) / dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        y[i] = f32_to_bf16(bf16_to_f32(x[i]) * inverseRms * bf16_to_f32(weight[i]));
}

// residual += input (stored as bf16, as the model's residual stream is), then out = RmsNorm(residual).
// Each thread reads back only the elements it wrote itself, so no barrier is needed between the passes.
extern "C" __global__ void add_rms_norm_bf16(bf16_t* residual, const bf16_t* input, const bf16_t* weight, bf16_t* out,
    int dim, float epsilon)
{
    __shared__ float scratch[32];
    bf16_t* r = residual + (size_t)blockIdx.x * dim;
    const bf16_t* x = input + (size_t)blockIdx.x * dim;
    bf16_t* y = out + (size_t)blockIdx.x * dim;
    float sumSquares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
    {
        bf16_t sum = f32_to_bf16(bf16_to_f32(r[i]) + bf16_to_f32(x[i]));
        r[i] = sum;
        float v = bf16_to_f32(sum);
        sumSquares += v * v;
    }
    float inverseRms = rsqrtf(block_sum(sumSquares, scratch) / dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        y[i] = f32_to_bf16(bf16_to_f32(r[i]) * inverseRms * bf16_to_f32(weight[i]));
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
