// Prepended to every kernel module before NVRTC compiles it. No headers: bf16 values travel as their raw
// 16 bits so that the kernels need neither cuda_bf16.h nor an include path on the target machine.
typedef unsigned short bf16_t;

#define HEARTH_NEG_INF (-__int_as_float(0x7f800000))

__device__ __forceinline__ float bf16_to_f32(bf16_t v) { return __uint_as_float(((unsigned int)v) << 16); }

// Round to nearest even, NaN stays NaN: the same rule as the host's BFloat16Bits.FromSingle.
__device__ __forceinline__ bf16_t f32_to_bf16(float f)
{
    unsigned int bits = __float_as_uint(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x40u);
    unsigned int rounding = 0x7fffu + ((bits >> 16) & 1u);
    return (bf16_t)((bits + rounding) >> 16);
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Every thread of the block must call these; every thread gets the result. scratch holds 32 floats.
// blockDim.x must be a multiple of 32.
__device__ float block_sum(float v, float* scratch)
{
    v = warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < numWarps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

__device__ float block_max(float v, float* scratch)
{
    v = warp_max(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < numWarps ? scratch[lane] : HEARTH_NEG_INF;
    return warp_max(v);
}
