// GGUF Q6_K at decode batch sizes (1-8 rows) on its compact layout (CudaQuantG6.cs, 0.82 byte a weight): per 16-row
// tile and 64-k unit, a 4-bit plane in G4's fragment order (512 bytes) and a 2-bit plane (256 bytes); per tile and
// 256-k super-block the int8 scales [16 rows][16] and the f16 d of each row. Register i of a k-tile's A operand is
// (lo >> 4i) & 0x000F000F | (hi moved to bits 4-5) & 0x00300030 | 0x43004300 = bf16x2 of 128 + q (q = 0..63, exact), and
// one fma.rn.bf16x2 (· 1 − 160) makes it q − 32, still exact. So a k-tile is ONE mma.m16n8k16 (g8 needed two and a
// third for Σx), folded by its row's int8 scale into a super-block sum, which d multiplies once per 256 k (kquant6.cuh).
// Streaming as gemv_quant_stream.cu's register kernels: block = one 16-row tile, Q6_WARPS warps each taking a
// contiguous run of super-blocks (one stage each: 4 16-byte and 4 8-byte loads a lane plus its rows' scales), the next
// stage's loads in flight while this one is multiplied, partial sums meeting in shared memory in warp order. Written
// for PDL: the first stage's weights and params (which no kernel writes) are loaded before HEARTH_PDL_WAIT, x after.
#ifndef Q6_WARPS
#define Q6_WARPS 4
#endif
#ifndef Q6_MIN_BLOCKS
#define Q6_MIN_BLOCKS 4
#endif
#include "kquant4.cuh"
#include "kquant6.cuh"

// The W warps' sums of one tile meet in smem in warp order: thread i·32 + l (i < 4) returns accumulator i of lane l.
template <int W>
__device__ __forceinline__ float q6_reduce(const float* acc, float* smem)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float (*partial)[4][32] = (float (*)[4][32])smem;
#pragma unroll
    for (int i = 0; i < 4; i++) partial[warp][i][lane] = acc[i];
    __syncthreads();
    float sum = 0.0f;
    if (threadIdx.x < 128)
    {
#pragma unroll
        for (int w = 0; w < W; w++) sum += partial[w][threadIdx.x >> 5][threadIdx.x & 31];
    }
    __syncthreads();   // smem is the next tile's
    return sum;
}

// The streaming loop of a G6 or G4 tile: warp w of W takes stages [s0, s1), stage s + 1's loads in flight while stage s
// is multiplied (the first stage's before HEARTH_PDL_WAIT: weights only, x after), then the warps' sums meet in smem
// (see q6_reduce for which sum a thread returns). Source supplies fetch(s, stage) and compute(stage, x, hasColumn, acc).
template <int W, typename Stage, typename Source>
__device__ __forceinline__ float kq_stream_tile(const Source& src, int stages, const bf16_t* xRow, bool hasColumn, float* smem)
{
    int warp = threadIdx.x >> 5;
    int s0 = warp * stages / W, s1 = (warp + 1) * stages / W;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    Stage a, b;
    if (s0 < s1) src.fetch(s0, a);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one
    for (int s = s0; s < s1; s += 2)
    {
        if (s + 1 < s1) src.fetch(s + 1, b);
        src.compute(a, xRow + (size_t)s * 256, hasColumn, acc);
        if (s + 1 >= s1) break;
        if (s + 2 < s1) src.fetch(s + 2, a);
        src.compute(b, xRow + (size_t)(s + 1) * 256, hasColumn, acc);
    }
    return q6_reduce<W>(acc, smem);
}

// One tile's G6 stages for kq_stream_tile (FAST: q6_compute_t's, the caller's xStage then row min(g, m − 1)'s).
template <bool FAST>
struct Q6Source
{
    const unsigned char* tileData;
    const unsigned char* tileParams;
    int lane, g;
    __device__ __forceinline__ void fetch(int s, Q6Stage& st) const { q6_fetch(tileData, tileParams, s, lane, g, st); }
    __device__ __forceinline__ void compute(const Q6Stage& st, const bf16_t* xStage, bool hasColumn, float* acc) const
    {
        q6_compute_t<FAST, 0>(st, xStage, hasColumn, acc);
    }
};

// One 16-row G6 tile of x·Wᵀ by W warps.
template <int W = Q6_WARPS, bool FAST = false>
__device__ __forceinline__ float q6_tile(const unsigned char* data, const unsigned char* params, int tile, int k, const bf16_t* x, int m, float* smem)
{
    int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int stages = k >> 8;
    Q6Source<FAST> src{ data + (size_t)tile * (k >> 6) * Q6_UNIT_BYTES, params + (size_t)tile * stages * Q6_PARAM_BYTES, lane, g };
    return kq_stream_tile<W, Q6Stage>(src, stages, x + (size_t)(FAST ? min(g, m - 1) : g) * k + 4 * t, g < m, smem);
}

__device__ __forceinline__ void q6_store(int rows, int tile, int column, float sum, int m, void* out, long long ldOut, int outF32)
{
    int i = threadIdx.x >> 5, l = threadIdx.x & 31;
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || row >= rows || col >= m) return;
    size_t o = (size_t)col * ldOut + column + row;
    if (outF32) ((float*)out)[o] = sum;
    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
}

// One 16-row K4 (compact Q4_K) tile of x·Wᵀ by W warps (kquant4.cuh's stages; FAST: k4_compute_fast, same values).
template <int W, bool FAST = false>
__device__ __forceinline__ float k4_tile(const unsigned char* data, const unsigned char* params, int tile, int k, const bf16_t* x, int m, float* smem)
{
    int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    K4Source<FAST> src{ (const uint4*)data + (size_t)tile * (k >> 6) * 32, params + (size_t)tile * (k >> 8) * K4_PARAM_BYTES, lane, g };
    return kq_stream_tile<W, K4Stage>(src, k >> 8, x + (size_t)(FAST ? min(g, m - 1) : g) * k + 4 * t, g < m, smem);
}

// One tile of either compact family: K4 (Q4_K) or G6 (Q6_K); FAST: k4_compute_fast or q6_compute_t<true>.
template <int W, bool K4, bool FAST = false>
__device__ __forceinline__ float kq_tile(const unsigned char* data, const unsigned char* params, int tile, int k, const bf16_t* x, int m, float* smem)
{
    return K4 ? k4_tile<W, FAST>(data, params, tile, k, x, m, smem) : q6_tile<W, FAST>(data, params, tile, k, x, m, smem);
}

// Up to three G6 parts (q|k|v, gate|up of an all-Q6_K model), or three K4 parts (K4), side by side; m <= 8; k a multiple
// of 256. W warps a tile: 4 (gemv_{g6,k4}_stream), or 8 (_w8) for launches of few tiles and a long k (ffn_down: 320
// tiles, k = 17,408, 2.4 blocks an SM), where 4 warps keep too few bytes in flight.
template <int W, bool K4, bool FAST = false>
__device__ __forceinline__ void q6_body(const uint4* d0, const void* p0, int n0, const uint4* d1, const void* p1, int n1, const uint4* d2,
    const void* p2, int n2, int k, const bf16_t* x, int m, void* out, long long ldOut, int outF32, float* smem)
{
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2);
    int tile = blockIdx.x, part, column;
    qm_find_part(parts, tile, part, column);
    const unsigned char* data = (const unsigned char*)(part == 0 ? d0 : part == 1 ? d1 : d2);
    const unsigned char* params = (const unsigned char*)(part == 0 ? p0 : part == 1 ? p1 : p2);
    float sum = kq_tile<W, K4, FAST>(data, params, tile, k, x, m, smem);
    q6_store(part == 0 ? n0 : part == 1 ? n1 : n2, tile, column, sum, m, out, ldOut, outF32);
}

extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_g6_stream(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out,
    long long ldOut, int outF32)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    q6_body<Q6_WARPS, false>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem);
}

extern "C" __global__ void __launch_bounds__(256, 2) gemv_g6_stream_w8(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out,
    long long ldOut, int outF32)
{
    __shared__ __align__(16) float smem[8 * 4 * 32];
    HEARTH_PDL_LAUNCH();
    q6_body<8, false>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem);
}

// gate|up with SiLU·mul: block b sums gate tile b, then up tile b, rounds both to bf16 and writes silu(g)·u with
// silu_mul_bf16's expression (so it equals Linear then SiluMul). out [m, n].
template <bool K4, bool FAST = false>
__device__ __forceinline__ void kq_silu(const uint4* d0, const void* p0, const uint4* d1, const void* p1, int n, int k, const bf16_t* x,
    int m, bf16_t* out, float* smem)
{
    int tile = blockIdx.x;
    float gate = kq_tile<Q6_WARPS, K4, FAST>((const unsigned char*)d0, (const unsigned char*)p0, tile, k, x, m, smem);
    float up = kq_tile<Q6_WARPS, K4, FAST>((const unsigned char*)d1, (const unsigned char*)p1, tile, k, x, m, smem);
    int i = threadIdx.x >> 5, l = threadIdx.x & 31;
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || row >= n || col >= m) return;
    float gv = bf16_to_f32(f32_to_bf16(gate)), uv = bf16_to_f32(f32_to_bf16(up));
    out[(size_t)col * n + row] = f32_to_bf16(gv / (1.0f + expf(-gv)) * uv);
}

extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_silu_g6_stream(const uint4* d0, const void* p0,
    const uint4* d1, const void* p1, int n, int k, const bf16_t* x, int m, bf16_t* out)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    kq_silu<false>(d0, p0, d1, p1, n, k, x, m, out, smem);
}

// Q4_K's G4 tiles (group 32: an f16 (scale, offset) pair a group and row, [tile][group][16 rows]) with the same
// streaming as q6_tile, so that Q4_K_M's q|k|v (Q4_K, Q4_K, Q6_K) is one launch: a stage is 256 k = 16 k-tiles = 4
// 16-byte loads a lane and 8 groups' params; per group Σ(128 + q)·x and Σx (an all-ones MMA) fold in as
// s·Σ(128 + q)x + (o − 128·s)·Σx.
struct Q4Stage
{
    uint4 w[4];
    unsigned int pa[8], pb[8];
};

__device__ __forceinline__ void q4_fetch(const uint4* tileData, const unsigned int* tileParams, int s, int lane, int g, Q4Stage& st)
{
#pragma unroll
    for (int u = 0; u < 4; u++) st.w[u] = load_streaming(tileData + (size_t)(4 * s + u) * 32 + lane);
#pragma unroll
    for (int f = 0; f < 8; f++)
    {
        st.pa[f] = __ldg(tileParams + (size_t)(8 * s + f) * 16 + g);
        st.pb[f] = __ldg(tileParams + (size_t)(8 * s + f) * 16 + g + 8);
    }
}

__device__ __forceinline__ void q4_compute(const Q4Stage& st, const bf16_t* xStage, bool hasColumn, float* acc)
{
    const unsigned int mask = 0x000F000Fu, magic = 0x43004300u, one = 0x3F803F80u;
#pragma unroll
    for (int f = 0; f < 8; f++)
    {
        float gacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, sx[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
#pragma unroll
        for (int j = 0; j < 2; j++)
        {
            const int kt = 2 * f + j;
            uint2 xs = hasColumn ? __ldg((const uint2*)(xStage + kt * 16)) : make_uint2(0u, 0u);
            const uint4& q = st.w[kt >> 2];
            unsigned int w = (kt & 3) == 0 ? q.x : (kt & 3) == 1 ? q.y : (kt & 3) == 2 ? q.z : q.w;
            qm_mma(gacc, (w & mask) | magic, ((w >> 4) & mask) | magic, ((w >> 8) & mask) | magic, ((w >> 12) & mask) | magic, xs.x, xs.y);
            qm_mma(sx, one, one, one, one, xs.x, xs.y);
        }
        float sa = qm_half(st.pa[f] & 0xffffu), sb = qm_half(st.pb[f] & 0xffffu);
        float oa = qm_half(st.pa[f] >> 16) - 128.0f * sa, ob = qm_half(st.pb[f] >> 16) - 128.0f * sb;
        acc[0] = fmaf(sa, gacc[0], fmaf(oa, sx[0], acc[0]));
        acc[1] = fmaf(sa, gacc[1], fmaf(oa, sx[1], acc[1]));
        acc[2] = fmaf(sb, gacc[2], fmaf(ob, sx[0], acc[2]));
        acc[3] = fmaf(sb, gacc[3], fmaf(ob, sx[1], acc[3]));
    }
}

// One tile's G4 stages for kq_stream_tile.
struct Q4Source
{
    const uint4* tileData;
    const unsigned int* tileParams;
    int lane, g;
    __device__ __forceinline__ void fetch(int s, Q4Stage& st) const { q4_fetch(tileData, tileParams, s, lane, g, st); }
    __device__ __forceinline__ void compute(const Q4Stage& st, const bf16_t* xStage, bool hasColumn, float* acc) const
    {
        q4_compute(st, xStage, hasColumn, acc);
    }
};

__device__ __forceinline__ float q4_tile(const uint4* data, const unsigned int* params, int tile, int k, const bf16_t* x, int m, float* smem)
{
    int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    Q4Source src{ data + (size_t)tile * (k >> 6) * 32, params + (size_t)tile * (k >> 5) * 16, lane, g };
    return kq_stream_tile<Q6_WARPS, Q4Stage>(src, k >> 8, x + (size_t)g * k + 4 * t, g < m, smem);
}

// Q4_K_M's mixed q|k|v: part p is G6 (Q6_K) where bit p of g6Mask is set, else Q4_K: G4 with groups of 32, or (K4) the
// compact K4 layout (FAST: its k4_compute_fast); G6FAST: the G6 parts by q6_compute_t<true>; k a multiple of 256.
template <bool K4, bool FAST = false, bool G6FAST = false>
__device__ __forceinline__ void kq_mixed(const uint4* d0, const void* p0, int n0, const uint4* d1, const void* p1, int n1, const uint4* d2,
    const void* p2, int n2, int k, int g6Mask, const bf16_t* x, int m, void* out, long long ldOut, int outF32, float* smem)
{
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2);
    int tile = blockIdx.x, part, column;
    qm_find_part(parts, tile, part, column);
    const uint4* data = part == 0 ? d0 : part == 1 ? d1 : d2;
    const void* params = part == 0 ? p0 : part == 1 ? p1 : p2;
    float sum = (g6Mask >> part) & 1 ? q6_tile<Q6_WARPS, G6FAST>((const unsigned char*)data, (const unsigned char*)params, tile, k, x, m, smem)
        : K4 ? k4_tile<Q6_WARPS, FAST>((const unsigned char*)data, (const unsigned char*)params, tile, k, x, m, smem)
             : q4_tile(data, (const unsigned int*)params, tile, k, x, m, smem);
    q6_store(part == 0 ? n0 : part == 1 ? n1 : n2, tile, column, sum, m, out, ldOut, outF32);
}

#define KQ_MIXED_KERNEL(NAME, K4, FAST, G6FAST) \
extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int g6Mask, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32) \
{ \
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32]; \
    HEARTH_PDL_LAUNCH(); \
    kq_mixed<K4, FAST, G6FAST>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, g6Mask, x, m, out, ldOut, outF32, smem); \
}

KQ_MIXED_KERNEL(gemv_g4g6_stream, false, false, false)
KQ_MIXED_KERNEL(gemv_k4g6_stream, true, false, false)
KQ_MIXED_KERNEL(gemv_k4g6_stream_fast, true, true, false)   // session 10 (HEARTH_CUDA_K4_NEW): the K4 parts by k4_compute_fast
KQ_MIXED_KERNEL(gemv_k4g6_stream_g6f, true, false, true)    // session 11 (HEARTH_CUDA_G6_NEW): the G6 parts by q6_compute_t<true>
KQ_MIXED_KERNEL(gemv_k4g6_stream_fast_g6f, true, true, true)   // both

// ---- compact Q4_K (K4): the GEMV (4 or 8 warps a tile) and gate|up + SiLU·mul, the G6 kernels' bodies on K4 tiles.
extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_k4_stream(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out,
    long long ldOut, int outF32)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    q6_body<Q6_WARPS, true>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem);
}

extern "C" __global__ void __launch_bounds__(256, 2) gemv_k4_stream_w8(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out,
    long long ldOut, int outF32)
{
    __shared__ __align__(16) float smem[8 * 4 * 32];
    HEARTH_PDL_LAUNCH();
    q6_body<8, true>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem);
}

extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_silu_k4_stream(const uint4* d0, const void* p0,
    const uint4* d1, const void* p1, int n, int k, const bf16_t* x, int m, bf16_t* out)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    kq_silu<true>(d0, p0, d1, p1, n, k, x, m, out, smem);
}

// Session 10 (HEARTH_CUDA_K4_NEW, CudaQuantK4Decode): the three K4 kernels above with k4_compute_fast, the same values.
#define K4_FAST_KERNEL(NAME, W, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(32 * (W), MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, const uint4* d1, \
    const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out, long long ldOut, int outF32) \
{ \
    __shared__ __align__(16) float smem[(W) * 4 * 32]; \
    HEARTH_PDL_LAUNCH(); \
    q6_body<W, true, true>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem); \
}
K4_FAST_KERNEL(gemv_k4_stream_fast, Q6_WARPS, Q6_MIN_BLOCKS)
K4_FAST_KERNEL(gemv_k4_stream_w8_fast, 8, 2)

extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_silu_k4_stream_fast(const uint4* d0, const void* p0,
    const uint4* d1, const void* p1, int n, int k, const bf16_t* x, int m, bf16_t* out)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    kq_silu<true, true>(d0, p0, d1, p1, n, k, x, m, out, smem);
}

// Session 11 (branch g6d, HEARTH_CUDA_G6_NEW, CudaQuantG6Decode): the G6 kernels above with q6_compute_t<true> (two LOP3
// an A register, x unpredicated), the same values bit for bit; the one-wave launches take gemv_kquant4.cu's gemv_g6m_*.
extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_g6_stream_fast(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, void* out,
    long long ldOut, int outF32)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    q6_body<Q6_WARPS, false, true>(d0, p0, n0, d1, p1, n1, d2, p2, n2, k, x, m, out, ldOut, outF32, smem);
}

extern "C" __global__ void __launch_bounds__(32 * Q6_WARPS, Q6_MIN_BLOCKS) gemv_silu_g6_stream_fast(const uint4* d0, const void* p0,
    const uint4* d1, const void* p1, int n, int k, const bf16_t* x, int m, bf16_t* out)
{
    __shared__ __align__(16) float smem[Q6_WARPS * 4 * 32];
    HEARTH_PDL_LAUNCH();
    kq_silu<false, true>(d0, p0, d1, p1, n, k, x, m, out, smem);
}
