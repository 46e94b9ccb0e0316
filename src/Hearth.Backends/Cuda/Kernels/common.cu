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

// Eight bf16 values packed in 16 bytes (one vector load) and back, for the kernels that stream rows 16 bytes at a time.
__device__ __forceinline__ void bf16x8_to_f32(uint4 v, float* f)
{
    f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
    f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
    f[4] = __uint_as_float(v.z << 16); f[5] = __uint_as_float(v.z & 0xffff0000u);
    f[6] = __uint_as_float(v.w << 16); f[7] = __uint_as_float(v.w & 0xffff0000u);
}

__device__ __forceinline__ uint4 f32_to_bf16x8(const float* f)
{
    uint4 v;
    v.x = (unsigned int)f32_to_bf16(f[0]) | ((unsigned int)f32_to_bf16(f[1]) << 16);
    v.y = (unsigned int)f32_to_bf16(f[2]) | ((unsigned int)f32_to_bf16(f[3]) << 16);
    v.z = (unsigned int)f32_to_bf16(f[4]) | ((unsigned int)f32_to_bf16(f[5]) << 16);
    v.w = (unsigned int)f32_to_bf16(f[6]) | ((unsigned int)f32_to_bf16(f[7]) << 16);
    return v;
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

// float8_e4m3fn KV cache elements (per-tensor scale 1.0). Decoding puts the 7 magnitude bits where f32 keeps
// its low exponent and top mantissa bits and multiplies by 2^120, which re-biases the exponent (7 -> 127) and
// is exact for normals and subnormals alike: 2 integer ops and a multiply, no table.
__device__ __forceinline__ float fp8e4m3_to_f32(unsigned int b)
{
    float f = __uint_as_float((b & 0x7fu) << 20) * __uint_as_float(0x7b800000u);
    return (b & 0x80u) ? -f : f;
}

// Round to nearest even, saturating at +-448 (no infinities in e4m3fn), NaN -> 0x7f: the same rule as the
// host's Float8E4M3.FromSingle, so CPU and GPU caches hold identical bytes for identical inputs.
__device__ __forceinline__ unsigned int f32_to_fp8e4m3(float x)
{
    unsigned int bits = __float_as_uint(x);
    unsigned int sign = (bits >> 24) & 0x80u, magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return 0x7fu;
    float a = __uint_as_float(magnitude);
    if (a >= 448.0f) return sign | 0x7eu;
    if (a < 0.015625f) return sign | (unsigned int)__float2int_rn(a * 512.0f);
    unsigned int rebiased = magnitude - (120u << 23);
    unsigned int rounded = (rebiased + 0x7ffffu + ((rebiased >> 20) & 1u)) >> 20;
    return sign | min(rounded, 0x7eu);
}

// Four packed e4m3 bytes -> four bf16 (exact: every e4m3 value is a bf16 value), as two bf16x2 words.
__device__ __forceinline__ uint2 fp8x4_to_bf16x4(unsigned int w)
{
    uint2 r;
    r.x = (__float_as_uint(fp8e4m3_to_f32(w & 0xffu)) >> 16) | (__float_as_uint(fp8e4m3_to_f32((w >> 8) & 0xffu)) & 0xffff0000u);
    r.y = (__float_as_uint(fp8e4m3_to_f32((w >> 16) & 0xffu)) >> 16) | (__float_as_uint(fp8e4m3_to_f32(w >> 24)) & 0xffff0000u);
    return r;
}

// 16 bytes of a weight stream read once per step: not kept in L1, where it would only evict reused data.
__device__ __forceinline__ uint4 load_streaming(const uint4* p)
{
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}
