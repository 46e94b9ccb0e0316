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

// The first index of the largest value of a row, for every thread of the block (NaN never wins; an all-NaN or
// all -inf row gives 0). values/indices: 32 shared slots each; blockDim.x a multiple of 32. Greedy sampling
// (sampling.cu) and argmax_rows_f32 (elementwise.cu) share it so that both pick the same token.
// The (value, index) pair of a warp with the largest value, the lowest index among equal ones, in every lane.
__device__ __forceinline__ void warp_reduce_argmax(float& best, int& index)
{
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        float otherValue = __shfl_xor_sync(0xffffffffu, best, offset);
        int otherIndex = __shfl_xor_sync(0xffffffffu, index, offset);
        if (otherValue > best || (otherValue == best && otherIndex < index)) { best = otherValue; index = otherIndex; }
    }
}

// The block's best (value, index) of every thread's pair (index 0x7fffffff: none), in every lane of every warp;
// values/indices: 32 floats and ints of shared memory. Returns the index, 0 when no value was a number.
__device__ int block_reduce_argmax(float& best, int& index, float* values, int* indices)
{
    warp_reduce_argmax(best, index);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) { values[warp] = best; indices[warp] = index; }
    __syncthreads();
    best = lane < numWarps ? values[lane] : HEARTH_NEG_INF;
    index = lane < numWarps ? indices[lane] : 0x7fffffff;
    warp_reduce_argmax(best, index);
    return index == 0x7fffffff ? 0 : index;
}

__device__ int block_argmax(const float* row, int vocab, float* values, int* indices)
{
    float best = HEARTH_NEG_INF;
    int index = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
    {
        float v = row[i];
        if (v > best) { best = v; index = i; }
    }
    return block_reduce_argmax(best, index, values, indices);
}

// The end of a split decode attention block (decode_fused.cu, decode_mma.cu): every warp has stored its
// online-softmax state for the group's heads (warpAcc [DF_WARPS, group, headDim] unnormalized sums, warpMax
// and warpSum in log2 units). Merges the warps; with one active split that is the output, otherwise the block
// writes a partial (rescaled sum, max, denominator) and the last block of its (sequence, kv head) to finish,
// told by an atomic counter, merges the partials and resets the counter for the next launch or graph replay.
#define DF_THREADS 128
#define DF_WARPS (DF_THREADS / 32)
#define DF_MAX_GROUP 8
#define DF_MAX_SPLITS 64
// Partials the combining block loads at once per output element (a multiple of 4; 4 was the rule before session 8).
#ifndef DF_COMBINE_LOADS
#define DF_COMBINE_LOADS 16
#endif

__device__ __forceinline__ void decode_split_finish(const float* warpAcc, float (*warpMax)[DF_MAX_GROUP],
    float (*warpSum)[DF_MAX_GROUP], int s, int kvh, int split, int heads, int kvHeads, int group, int headDim,
    int numSplits, int active, bf16_t* out, float* partialOut, float* partialMax, float* partialSum, int* counters)
{
    __shared__ float splitWeight[DF_MAX_GROUP][DF_MAX_SPLITS];
    __shared__ int isLast;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    __syncthreads();
    // Merge the warps: a warp that saw no key has max -inf and weight 0.
    for (int idx = tid; idx < group * headDim; idx += DF_THREADS)
    {
        int g = idx / headDim, d = idx % headDim;
        float blockMax = HEARTH_NEG_INF;
#pragma unroll
        for (int w = 0; w < DF_WARPS; w++) blockMax = fmaxf(blockMax, warpMax[w][g]);
        float o = 0.0f, sum = 0.0f;
#pragma unroll
        for (int w = 0; w < DF_WARPS; w++)
        {
            float weight = warpMax[w][g] == HEARTH_NEG_INF ? 0.0f : exp2f(warpMax[w][g] - blockMax);
            o += weight * warpAcc[(w * group + g) * headDim + d];
            sum += weight * warpSum[w][g];
        }
        int h = kvh * group + g;
        if (active == 1)
        {
            out[((size_t)s * heads + h) * headDim + d] = f32_to_bf16(sum > 0.0f ? o / sum : 0.0f);
        }
        else
        {
            size_t part = ((size_t)s * heads + h) * numSplits + split;
            partialOut[part * headDim + d] = o;
            if (d == 0) { partialMax[part] = blockMax; partialSum[part] = sum; }
        }
    }
    if (active == 1) return;

    // Publish the partials, then count this split as done; the last one to finish combines.
    __threadfence();
    __syncthreads();
    if (tid == 0) isLast = atomicAdd(&counters[s * kvHeads + kvh], 1) == active - 1;
    __syncthreads();
    if (!isLast) return;
    __threadfence();

    // Per head: the common max and denominator over the active splits (one warp per head), then the weights.
    for (int g = warp; g < group; g += DF_WARPS)
    {
        size_t base = ((size_t)s * heads + kvh * group + g) * numSplits;
        float mx = HEARTH_NEG_INF;
        for (int i = lane; i < active; i += 32) mx = fmaxf(mx, __ldcg(partialMax + base + i));
        mx = warp_max(mx);
        float total = 0.0f;
        for (int i = lane; i < active; i += 32)
        {
            float e = exp2f(__ldcg(partialMax + base + i) - mx);
            splitWeight[g][i] = e;
            total += e * __ldcg(partialSum + base + i);
        }
        total = warp_sum(total);
        float inverse = total > 0.0f ? 1.0f / total : 0.0f;
        __syncwarp();
        for (int i = lane; i < active; i += 32) splitWeight[g][i] *= inverse;
    }
    __syncthreads();
    for (int idx = tid; idx < group * headDim; idx += DF_THREADS)
    {
        int g = idx / headDim, d = idx % headDim;
        int h = kvh * group + g;
        size_t base = ((size_t)s * heads + h) * numSplits;
        // DF_COMBINE_LOADS partials' loads in flight together, summed into four sums in split order (sum j takes
        // splits j, j + 4, j + 8, ...), so the result does not depend on how many loads a round issues.
        float o4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        int i = 0;
        for (; i + DF_COMBINE_LOADS <= active; i += DF_COMBINE_LOADS)
        {
            float p[DF_COMBINE_LOADS];
#pragma unroll
            for (int j = 0; j < DF_COMBINE_LOADS; j++) p[j] = __ldcg(partialOut + (base + i + j) * headDim + d);
#pragma unroll
            for (int j = 0; j < DF_COMBINE_LOADS; j++) o4[j & 3] = fmaf(splitWeight[g][i + j], p[j], o4[j & 3]);
        }
        for (; i + 4 <= active; i += 4)
        {
            float p[4];
#pragma unroll
            for (int j = 0; j < 4; j++) p[j] = __ldcg(partialOut + (base + i + j) * headDim + d);
#pragma unroll
            for (int j = 0; j < 4; j++) o4[j] = fmaf(splitWeight[g][i + j], p[j], o4[j]);
        }
        for (; i < active; i++) o4[0] = fmaf(splitWeight[g][i], __ldcg(partialOut + (base + i) * headDim + d), o4[0]);
        float o = (o4[0] + o4[1]) + (o4[2] + o4[3]);
        out[((size_t)s * heads + h) * headDim + d] = f32_to_bf16(o);
    }
    if (tid == 0) counters[s * kvHeads + kvh] = 0;
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

// One stage of a quantized tile for the register-streaming GEMVs (gemv_quant_stream.cu, gemv_quant_wide.cu): lane
// l's LOADS 16-byte loads of stage s (each load covers 32 lanes' 512 bytes), and the params of the GPS groups from
// group grp on, as the MMA fold wants them for the lane's row pair g and g + 8: fp8 (FMT 2) has one f32 block scale a
// group, the same in pa and pb; the int formats a 64-byte record a group, rows g and g + 8.
template <int FMT, int GPS, int LOADS>
__device__ __forceinline__ void quant_stage_fetch(const uint4* data, const unsigned char* params, int s, int grp, int g,
    uint4* q, unsigned int* pa, unsigned int* pb)
{
#pragma unroll
    for (int u = 0; u < LOADS; u++) q[u] = load_streaming(data + (size_t)(s * LOADS + u) * 32);
#pragma unroll
    for (int f = 0; f < GPS; f++)
    {
        if (FMT == 2) pa[f] = pb[f] = __ldg((const unsigned int*)params + grp + f);
        else
        {
            const unsigned int* p = (const unsigned int*)(params + (size_t)(grp + f) * 64);
            pa[f] = __ldg(p + g);
            pb[f] = __ldg(p + g + 8);
        }
    }
}

// Programmatic dependent launch (sm_90+, CudaBackend.Pdl.cs). A kernel launched with programmatic stream
// serialization may start while its predecessor still runs: HEARTH_PDL_WAIT blocks until every earlier kernel of the
// stream has completed and its writes are visible (so it must come before the first read of their outputs, before
// the first global write, and in every block before it exits: dependencies chain only through the waits);
// HEARTH_PDL_LAUNCH lets the next kernel's blocks be scheduled once every block of this one has passed it. NVRTC
// compiles for the exact architecture, so below sm_90 (plain launches, fully serialized) both are nothing.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define HEARTH_PDL_WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
#define HEARTH_PDL_LAUNCH() asm volatile("griddepcontrol.launch_dependents;" :::)
#else
#define HEARTH_PDL_WAIT() do { } while (0)
#define HEARTH_PDL_LAUNCH() do { } while (0)
#endif

// The entry of a kernel that reads nothing before its wait. By default it waits, then lets its dependents launch;
// HEARTH_PDL_EARLY_TRIGGER (an NVRTC define, HEARTH_CUDA_KERNEL_DEFINES, for A/B runs) is a mask of the kernel groups
// that trigger first instead, so that the next kernel's blocks can start their weight loads while this one still
// waits on its predecessor: 1 the row RMSNorms (norm.cu), 2 the q/k norm + RoPE kernels, 4 the decode attention
// (decode_mma*.cu), 8 every other HEARTH_PDL_ENTRY kernel. Either order is safe: a dependent's own wait still returns
// only after this kernel, which waited, has completed. The default, 1, lets the GEMV after a residual norm launch and
// start its weight loads while the GEMV before the norm still runs: session 9 (H100, 14B batch-1 step, parity runner
// --ablation-timing, three calls) measured fp8 −0.05 to −0.07 ms and int4 −0.07 to +0.02 ms a step against 0; the
// q/k norm + RoPE kernels triggering early (mask 7) cost int4 +0.19 ms, and the attention early (4) changed nothing.
#ifndef HEARTH_PDL_EARLY_TRIGGER
#define HEARTH_PDL_EARLY_TRIGGER 1
#endif
#define HEARTH_PDL_EARLY_NORM 1
#define HEARTH_PDL_EARLY_ROPE 2
#define HEARTH_PDL_EARLY_ATTENTION 4
#define HEARTH_PDL_EARLY_OTHER 8
#define HEARTH_PDL_EARLY_LAUNCH_IF(GROUP) do { if ((HEARTH_PDL_EARLY_TRIGGER) & (GROUP)) HEARTH_PDL_LAUNCH(); } while (0)
#define HEARTH_PDL_LATE_LAUNCH_IF(GROUP) do { if (!((HEARTH_PDL_EARLY_TRIGGER) & (GROUP))) HEARTH_PDL_LAUNCH(); } while (0)
#define HEARTH_PDL_ENTRY_OF(GROUP) do { HEARTH_PDL_EARLY_LAUNCH_IF(GROUP); HEARTH_PDL_WAIT(); HEARTH_PDL_LATE_LAUNCH_IF(GROUP); } while (0)
#define HEARTH_PDL_ENTRY() HEARTH_PDL_ENTRY_OF(HEARTH_PDL_EARLY_OTHER)

// Pulls a global line into L2 without touching registers: weights a PDL kernel reads before its wait.
__device__ __forceinline__ void prefetch_l2(const void* p)
{
    asm volatile("prefetch.global.L2 [%0];" :: "l"(p));
}

// The quantized tile layouts' shared pieces (gemv_quant.cu: 9-16 rows; gemv_quant_stream.cu: 1-8 rows; layouts
// described at the top of gemv_quant.cu).
__device__ __forceinline__ float qm_half(unsigned int bits)
{
    float f;
    unsigned short h = (unsigned short)bits;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ void qm_mma(float* c, unsigned int a0, unsigned int a1, unsigned int a2, unsigned int a3, unsigned int b0, unsigned int b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Two e4m3 bytes (byte lo, byte lo + 1 of w) -> bf16x2 of the exact values: the bits go where bf16 keeps them
// (giving value · 2^-120, an exact bf16 even for e4m3 subnormals), then one bf16x2 FMA by 2^120 re-biases.
__device__ __forceinline__ unsigned int qm_e4m3x2(unsigned int w, unsigned int selector)
{
    unsigned int t, r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(t) : "r"(w), "r"(0u), "r"(selector));
    unsigned int bits = ((t & 0x007F007Fu) << 4) | ((t & 0x00800080u) << 8);
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(bits), "r"(0x7B807B80u), "r"(0x80008000u));
    return r;
}

struct QmParts
{
    const uint4* data[3];
    const void* params[3];
    int n[3];
};

// A operands of one k-tile from its bytes: w0 (and w1 for g8/f8).
template <int FMT>
__device__ __forceinline__ void qm_operands(unsigned int w0, unsigned int w1, unsigned int* a, unsigned int* h)
{
    const unsigned int mask = 0x000F000Fu, magic = 0x43004300u, magicHigh = 0x45004500u;
    if (FMT == 2)
    {
        a[0] = qm_e4m3x2(w0, 0x4140u); a[1] = qm_e4m3x2(w0, 0x4342u);
        a[2] = qm_e4m3x2(w1, 0x4140u); a[3] = qm_e4m3x2(w1, 0x4342u);
        return;
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        a[i] = ((w0 >> (4 * i)) & mask) | magic;
        if (FMT == 1) h[i] = ((w1 >> (4 * i)) & mask) | magicHigh;
    }
}

__device__ __forceinline__ QmParts qm_make_parts(const uint4* d0, const void* p0, int n0, const uint4* d1, const void* p1, int n1,
    const uint4* d2, const void* p2, int n2)
{
    QmParts parts;
    parts.data[0] = d0; parts.data[1] = d1; parts.data[2] = d2;
    parts.params[0] = p0; parts.params[1] = p1; parts.params[2] = p2;
    parts.n[0] = n0; parts.n[1] = n1; parts.n[2] = n2;
    return parts;
}

// Tiles are numbered through the parts in order: turns a launch-wide 16-row tile into (part, tile within the part,
// the part's first output column).
__device__ __forceinline__ void qm_find_part(const QmParts& parts, int& tile, int& part, int& column)
{
    part = 0;
    column = 0;
    for (; part < 2; part++)
    {
        int tiles = (parts.n[part] + 15) >> 4;
        if (tile < tiles) break;
        tile -= tiles;
        column += parts.n[part];
    }
}
