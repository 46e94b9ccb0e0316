// Compact Q4_K (K4) at decode batch sizes, session 10 (branch k4b): kquant4.cuh's tiles, params and per-stage arithmetic
// on a deeper register stream with fewer instructions a weight. Against gemv_kquant6.cu's K4 kernels:
// - k4_compute_fast: each A register one LOP3 after its shift (the compiler had split (w & mask) | magic in two), and x
//   loaded unpredicated (lanes of rows g >= m read row m − 1; their columns are never stored): a quarter fewer LOP3 and
//   no zeroing a k-tile, the same values bit for bit.
// - D stage buffers a warp (gemv_quant_i4.cu's stream): D − 1 stages of 2 KB in flight while one is multiplied; in the
//   SiLU launch the stream runs on from the gate tile into the up tile, so the up tile's first stages are loaded before
//   the gate tile's warps meet for its sum.
// The k split (warp w of W takes stages [w·S/W, (w + 1)·S/W)) and the warps' meeting in warp order are gemv_k4_stream's
// (W = 4) and gemv_k4_stream_w8's (W = 8): every result equals theirs bit for bit, and the fused gate|up + SiLU equals
// the plain W = 4 launch on its tiles (then SiluMul) bit for bit.
// PDL: the first D − 1 stages (weights, params) are requested before HEARTH_PDL_WAIT; x and out after it.
// Shipped (CudaQuantK4Decode): W4D3 for launches that fit one wave at 3 blocks an SM (the 14B o and ffn_down), W4D2 for
// the fused gate|up at 1 row; H100, µs at m = 1: o 11.6 → 9.6, down 29.8 → 27.9, gate|up 51.5 → 45.3.
// Session 10 also tried Σx per 32-k sub-block summed once per warp into shared memory instead of the all-ones MMA (x is
// the same for every tile): slower at m = 1 and up to 2 times slower at m = 8 (the sums cost more than the MMAs they save).
#include "kquant4.cuh"
#include "kquant6.cuh"

// The W warps' sums of a tile meet in warp order (gemv_kquant6.cu's q6_reduce); thread i·32 + l (i < 4) gets accumulator
// i of lane l; acc is zeroed for the next tile.
template <int W>
__device__ __forceinline__ float k4n_reduce(float* acc, float* partial)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < 4; r++) { partial[(warp * 4 + r) * 32 + lane] = acc[r]; acc[r] = 0.0f; }
    __syncthreads();
    float sum = 0.0f;
    if (threadIdx.x < 128)
    {
#pragma unroll
        for (int w = 0; w < W; w++) sum += partial[(w * 4 + (threadIdx.x >> 5)) * 32 + (threadIdx.x & 31)];
    }
    __syncthreads();   // partial is the next tile's
    return sum;
}

// Block b: tile b of the launch (plain: through the parts in order), or gate tile b then up tile b (silu, d1/p1 the up
// part, out = silu(gate)·up bf16 [m, n0], the unfused Linear then SiluMul's rounding; the host sends silu only with
// stages % W == 0, so every warp ends the gate tile at the same step). The fetch cursor runs D − 1 stages ahead.
template <int W, int D>
__device__ __forceinline__ void k4n_body(const QmParts& parts, int k, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int silu,
    float* partial)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int stages = k >> 8, s0 = warp * stages / W, s1 = (warp + 1) * stages / W, per = s1 - s0;
    int tile = blockIdx.x, part = 0, column = 0;
    if (!silu) qm_find_part(parts, tile, part, column);
    int total = (silu ? 2 : 1) * per;
    const uint4* tileData[2];
    const unsigned char* tileParams[2];
#pragma unroll
    for (int u = 0; u < 2; u++)
    {
        int p = silu ? u : part;
        const uint4* data = p == 0 ? parts.data[0] : p == 1 ? parts.data[1] : parts.data[2];
        const void* params = p == 0 ? parts.params[0] : p == 1 ? parts.params[1] : parts.params[2];
        tileData[u] = data + (size_t)tile * (k >> 6) * 32;
        tileParams[u] = (const unsigned char*)params + (size_t)tile * stages * K4_PARAM_BYTES;
    }
    K4Stage st[D];
    int fetched = 0, fu = 0, fs = s0;
    auto fetch = [&](K4Stage& b) {
        if (fetched >= total) return;
        k4_fetch(fu ? tileData[1] : tileData[0], fu ? tileParams[1] : tileParams[0], fs, lane, g, b);
        fetched++;
        if (++fs == s1) { fs = s0; fu++; }
    };
#pragma unroll
    for (int b = 0; b < D - 1; b++) fetch(st[b]);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one
    const bf16_t* xRow = x + (size_t)min(g, m - 1) * k + 4 * t;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, gate = 0.0f;
    int cs = s0;
    bool gateDone = false;
    for (int i = 0; i < total; i += D)
    {
#pragma unroll
        for (int b = 0; b < D; b++)
        {
            if (i + b >= total) break;
            fetch(st[(b + D - 1) % D]);
            k4_compute_fast(st[b], xRow + (size_t)cs * 256, acc);
            if (++cs != s1) continue;
            cs = s0;
            if (!silu || gateDone) continue;   // the last tile's sum meets after the loop
            gate = k4n_reduce<W>(acc, partial);
            gateDone = true;
        }
    }
    float sum = k4n_reduce<W>(acc, partial);
    int i = threadIdx.x >> 5, l = threadIdx.x & 31;
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || col >= m) return;
    if (silu)
    {
        if (row >= parts.n[0]) return;
        float gv = bf16_to_f32(f32_to_bf16(gate)), uv = bf16_to_f32(f32_to_bf16(sum));
        ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gv / (1.0f + expf(-gv)) * uv);
        return;
    }
    if (row >= (part == 0 ? parts.n[0] : part == 1 ? parts.n[1] : parts.n[2])) return;
    size_t o = (size_t)col * ldOut + column + row;
    if (outF32) ((float*)out)[o] = sum;
    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
}

// m <= 8; k a multiple of 256 (silu: of W·256). grid: the launch's tiles, or the gate's tiles when silu (W = 4 only).
#define K4N_KERNEL(NAME, W, D, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(32 * (W), MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int silu) \
{ \
    __shared__ __align__(16) float partial[(W) * 4 * 32]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    k4n_body<W, D>(parts, k, x, m, out, ldOut, outF32, silu, partial); \
}

K4N_KERNEL(gemv_k4n_w4d2, 4, 2, 4)
K4N_KERNEL(gemv_k4n_w4d3, 4, 3, 3)
K4N_KERNEL(gemv_k4n_w8d2, 8, 2, 2)


// ---- Session 11 (branch g6d, HEARTH_CUDA_G6_NEW): k4n_body's stream over a RANGE of tiles a block, for either family.
// Block b takes tiles [b·T/B, (b + 1)·T/B) of the launch's T (B = gridDim.x; B = T is k4n_body's one tile a block), and
// its warps' stage cursor runs on from one tile (silu: gate tile, then up tile) into the next, so a grid of one wave
// (CudaQuantG6Decode.BalancedBlocks: gate|up's 1,088 tiles as 363 blocks of 3) streams with no tail and no refill
// between tiles. Per tile the k split, the per-stage arithmetic and the warps' meeting are k4n_body's (K4) or
// gemv_g6_stream's (G6, by q6_compute_t<true>): the same bits as gemv_k4_stream / gemv_g6_stream, fused = unfused.
// G6 is K4's loop on kquant6.cuh's stages; CONV: the scale and min conversions of k4_byte_c / q6_scale_c.
template <bool G6, int CONV>
struct KqmFamily;

template <int CONV>
struct KqmFamily<false, CONV>
{
    typedef K4Stage Stage;
    static __device__ __forceinline__ size_t TileBytes(int k) { return (size_t)(k >> 6) * 512; }
    static __device__ __forceinline__ size_t TileParamBytes(int k) { return (size_t)(k >> 8) * K4_PARAM_BYTES; }
    static __device__ __forceinline__ void Fetch(const unsigned char* d, const unsigned char* p, int s, int lane, int g, Stage& st)
    {
        k4_fetch((const uint4*)d, p, s, lane, g, st);
    }
    static __device__ __forceinline__ void Compute(const Stage& st, const bf16_t* x, float* acc) { k4_compute_fast<CONV>(st, x, acc); }
};

template <int CONV>
struct KqmFamily<true, CONV>
{
    typedef Q6Stage Stage;
    static __device__ __forceinline__ size_t TileBytes(int k) { return (size_t)(k >> 6) * Q6_UNIT_BYTES; }
    static __device__ __forceinline__ size_t TileParamBytes(int k) { return (size_t)(k >> 8) * Q6_PARAM_BYTES; }
    static __device__ __forceinline__ void Fetch(const unsigned char* d, const unsigned char* p, int s, int lane, int g, Stage& st)
    {
        q6_fetch(d, p, s, lane, g, st);
    }
    static __device__ __forceinline__ void Compute(const Stage& st, const bf16_t* x, float* acc) { q6_compute_t<true, CONV>(st, x, true, acc); }
};

// Tile `tile` of the launch (plain: numbered through the parts; silu: gate tile, u = 0, or up tile, u = 1) as pointers.
template <typename F>
__device__ __forceinline__ void kqm_tile_ptrs(const QmParts& parts, int tile, int u, int silu, int k, const unsigned char*& d, const unsigned char*& p)
{
    int part = u, column;
    if (!silu) qm_find_part(parts, tile, part, column);
    d = (const unsigned char*)(part == 0 ? parts.data[0] : part == 1 ? parts.data[1] : parts.data[2]) + (size_t)tile * F::TileBytes(k);
    p = (const unsigned char*)(part == 0 ? parts.params[0] : part == 1 ? parts.params[1] : parts.params[2]) + (size_t)tile * F::TileParamBytes(k);
}

// One tile's sum out (thread i·32 + l, i < 4: accumulator i of lane l), as k4n_body stores it.
__device__ __forceinline__ void kqm_store(const QmParts& parts, int tile, int silu, float gate, float sum, int m, void* out, long long ldOut, int outF32)
{
    int i = threadIdx.x >> 5, l = threadIdx.x & 31, col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || col >= m) return;
    if (silu)
    {
        int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0);
        if (row >= parts.n[0]) return;
        float gv = bf16_to_f32(f32_to_bf16(gate)), uv = bf16_to_f32(f32_to_bf16(sum));
        ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gv / (1.0f + expf(-gv)) * uv);
        return;
    }
    int part, column;
    qm_find_part(parts, tile, part, column);
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0);
    if (row >= (part == 0 ? parts.n[0] : part == 1 ? parts.n[1] : parts.n[2])) return;
    size_t o = (size_t)col * ldOut + column + row;
    if (outF32) ((float*)out)[o] = sum;
    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
}

// The host sends a range of more than one tile a block, and silu, only with stages % W == 0 (every warp ends a tile at
// the same step, so the warps meet at the same point of the loop); one tile a block meets after the loop, as k4n_body.
template <int W, int D, bool G6, int CONV>
__device__ __forceinline__ void kqm_body(const QmParts& parts, int k, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int silu,
    float* partial)
{
    typedef KqmFamily<G6, CONV> F;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int stages = k >> 8, s0 = warp * stages / W, s1 = (warp + 1) * stages / W, per = s1 - s0;
    int tiles = silu ? (parts.n[0] + 15) >> 4 : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    int t0 = (int)((long long)blockIdx.x * tiles / gridDim.x), t1 = (int)((long long)(blockIdx.x + 1) * tiles / gridDim.x);
    int segments = (silu ? 2 : 1) * (t1 - t0), total = segments * per;
    typename F::Stage st[D];
    const unsigned char *fd, *fp;
    int fetched = 0, fseg = 0, fs = s0;
    kqm_tile_ptrs<F>(parts, t0, 0, silu, k, fd, fp);
    auto fetch = [&](typename F::Stage& b) {
        if (fetched >= total) return;
        F::Fetch(fd, fp, fs, lane, g, b);
        fetched++;
        if (++fs != s1) return;
        fs = s0;
        if (++fseg < segments) kqm_tile_ptrs<F>(parts, t0 + (silu ? fseg >> 1 : fseg), silu ? fseg & 1 : 0, silu, k, fd, fp);
    };
#pragma unroll
    for (int b = 0; b < D - 1; b++) fetch(st[b]);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one
    const bf16_t* xRow = x + (size_t)min(g, m - 1) * k + 4 * t;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, gate = 0.0f;
    int cs = s0, cseg = 0;
    for (int i = 0; i < total; i += D)
    {
#pragma unroll
        for (int b = 0; b < D; b++)
        {
            if (i + b >= total) break;
            fetch(st[(b + D - 1) % D]);
            F::Compute(st[b], xRow + (size_t)cs * 256, acc);
            if (++cs != s1) continue;
            cs = s0;
            if (cseg == segments - 1) continue;   // the last tile's sum meets after the loop
            float sum = k4n_reduce<W>(acc, partial);
            if (silu && !(cseg & 1)) gate = sum;
            else kqm_store(parts, t0 + (silu ? cseg >> 1 : cseg), silu, gate, sum, m, out, ldOut, outF32);
            cseg++;
        }
    }
    float sum = k4n_reduce<W>(acc, partial);
    kqm_store(parts, t1 - 1, silu, gate, sum, m, out, ldOut, outF32);
}

// m <= 8; k a multiple of 256. grid: CudaQuantG6Decode.BalancedBlocks of the launch's tiles (silu: the gate's).
#define KQM_KERNEL(NAME, W, D, MIN_BLOCKS, G6, CONV) \
extern "C" __global__ void __launch_bounds__(32 * (W), MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int silu) \
{ \
    __shared__ __align__(16) float partial[(W) * 4 * 32]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    kqm_body<W, D, G6, CONV>(parts, k, x, m, out, ldOut, outF32, silu, partial); \
}

KQM_KERNEL(gemv_k4m_w4d3, 4, 3, 3, false, 0)
KQM_KERNEL(gemv_k4m_w4d2, 4, 2, 4, false, 0)
KQM_KERNEL(gemv_g6m_w4d3, 4, 3, 3, true, 0)
KQM_KERNEL(gemv_g6m_w4d2, 4, 2, 4, true, 0)
