// Compact Q4_K (K4) at decode batch sizes, session 10 (branch k4b): the k4 tiles and params of kquant4.cuh on a deeper
// register stream. Against gemv_kquant6.cu's K4 kernels (one stage a warp in flight, an all-ones MMA a k-tile for Σx):
// - D stage buffers a warp (gemv_quant_i4.cu's stream): D − 1 stages of 2 KB in flight while one is multiplied, and the
//   stream runs on across the tiles of a block (gate, then up, in the SiLU launch), so the up tile's first stages are
//   loaded before the gate tile's warps meet for its sum.
// - SX: Σx per 32-k sub-block and x row is summed once per warp for its own k range into shared memory (x is the same for
//   every tile, and the gate and up tiles share it), replacing the all-ones MMA; the same lines then serve the MMA's x
//   loads from L1. Without SX the all-ones MMA stays and the result equals gemv_k4_stream's bit for bit.
// - The 6-bit scales and mins become floats by one byte permute into 0x4B000000 and one subtraction (exact).
// Arithmetic per sub-block as kquant4.cuh: sacc += sc·G, tacc += sc·Σx, macc += m·Σx; per super-block acc += d·(sacc −
// 128·tacc) − dmin·macc. W = 4 warps take equal shares of a tile's stages (the host checks stages % 4 == 0), and their
// sums meet in warp order: so the fused gate|up + SiLU equals the plain launch on its tiles bit for bit.
// PDL: the first D − 1 stages (weights, params) are requested before HEARTH_PDL_WAIT; x, Σx and out after it.
#include "kquant4.cuh"

#define K4N_WARPS 4

// Byte f of (lo, hi) as a float, exact: the byte under 0x4B000000 is 2^23 + byte.
__device__ __forceinline__ float k4n_byte(unsigned int lo, unsigned int hi, int f)
{
    unsigned int r;
    const unsigned int selector = 0x7540u | (unsigned int)(f & 3);   // bytes: (f & 3) of a, then 0, 0, 0x4B of b
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(f < 4 ? lo : hi), "r"(0x4B000000u), "r"(selector));
    return __uint_as_float(r) - 8388608.0f;
}

// sx[(s·8 + f)·8 + c] = Σx over sub-block f of stage s, x row c < m, for stages [s0, s1): four lanes a (sub-block, row),
// 8 values each, then two shuffles; the order is fixed, so every launch gets the same sums.
__device__ __forceinline__ void k4n_sum_x(const bf16_t* x, int k, int m, int s0, int s1, float* sx)
{
    const int lane = threadIdx.x & 31, subs = (s1 - s0) * 8, chunks = subs * m * 4;
    for (int base = 0; base < chunks; base += 128)
    {
        float v[4];
#pragma unroll
        for (int u = 0; u < 4; u++)
        {
            int q = base + 32 * u + lane, pair = q >> 2, c = pair / subs, f = pair - c * subs;
            v[u] = 0.0f;
            if (q < chunks)
            {
                float e[8];
                bf16x8_to_f32(__ldg((const uint4*)(x + (size_t)c * k + (size_t)(s0 * 8 + f) * 32 + (q & 3) * 8)), e);
                v[u] = ((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]));
            }
        }
#pragma unroll
        for (int u = 0; u < 4; u++)
        {
            v[u] += __shfl_xor_sync(0xffffffffu, v[u], 1);
            v[u] += __shfl_xor_sync(0xffffffffu, v[u], 2);
            int q = base + 32 * u + lane, pair = q >> 2, c = pair / subs, f = pair - c * subs;
            if (q < chunks && (q & 3) == 0) sx[(s0 * 8 + f) * 8 + c] = v[u];
        }
    }
    __syncwarp();
}

// acc (rows g, g + 8; columns 2t, 2t + 1) += one stage's x·Wᵀ. sxStage: the stage's [8 sub-blocks][8 rows] Σx (SX).
template <bool SX>
__device__ __forceinline__ void k4n_compute(const K4Stage& st, const bf16_t* xStage, bool hasColumn, const float* sxStage, int t, float* acc)
{
    const unsigned int mask = 0x000F000Fu, magic = 0x43004300u, one = 0x3F803F80u;
    float sacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, tacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, macc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
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
            if (!SX) qm_mma(sx, one, one, one, one, xs.x, xs.y);
        }
        if (SX)
        {
            float2 s = *(const float2*)(sxStage + f * 8 + 2 * t);
            sx[0] = s.x;
            sx[1] = s.y;
        }
        float sa = k4n_byte(st.sma.x, st.sma.y, f), sb = k4n_byte(st.smb.x, st.smb.y, f);
        float ma = k4n_byte(st.sma.z, st.sma.w, f), mb = k4n_byte(st.smb.z, st.smb.w, f);
        sacc[0] = fmaf(sa, gacc[0], sacc[0]);
        sacc[1] = fmaf(sa, gacc[1], sacc[1]);
        sacc[2] = fmaf(sb, gacc[2], sacc[2]);
        sacc[3] = fmaf(sb, gacc[3], sacc[3]);
        tacc[0] = fmaf(sa, sx[0], tacc[0]);
        tacc[1] = fmaf(sa, sx[1], tacc[1]);
        tacc[2] = fmaf(sb, sx[0], tacc[2]);
        tacc[3] = fmaf(sb, sx[1], tacc[3]);
        macc[0] = fmaf(ma, sx[0], macc[0]);
        macc[1] = fmaf(ma, sx[1], macc[1]);
        macc[2] = fmaf(mb, sx[0], macc[2]);
        macc[3] = fmaf(mb, sx[1], macc[3]);
    }
    float dA = qm_half(st.da & 0xffffu), mA = qm_half(st.da >> 16), dB = qm_half(st.db & 0xffffu), mB = qm_half(st.db >> 16);
    acc[0] = fmaf(dA, fmaf(-128.0f, tacc[0], sacc[0]), fmaf(-mA, macc[0], acc[0]));
    acc[1] = fmaf(dA, fmaf(-128.0f, tacc[1], sacc[1]), fmaf(-mA, macc[1], acc[1]));
    acc[2] = fmaf(dB, fmaf(-128.0f, tacc[2], sacc[2]), fmaf(-mB, macc[2], acc[2]));
    acc[3] = fmaf(dB, fmaf(-128.0f, tacc[3], sacc[3]), fmaf(-mB, macc[3], acc[3]));
}

// Block b: tile b of the launch (plain: through the parts in order), or gate tile b then up tile b (silu, d1/p1 the up
// part, out = silu(gate)·up bf16 [m, n0], the unfused Linear then SiluMul's rounding). Each warp streams its quarter of
// every tile's stages through D buffers, the fetch cursor D − 1 stages ahead and running on into the next tile.
template <int D, bool SX>
__device__ __forceinline__ void k4n_body(const QmParts& parts, int k, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int silu,
    float* partial, float* sxAll)
{
    const int W = K4N_WARPS;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int stages = k >> 8, per = stages / W, s0 = warp * per, s1 = s0 + per;
    int tile = blockIdx.x, part = 0, column = 0;
    if (!silu) qm_find_part(parts, tile, part, column);
    int units = silu ? 2 : 1, total = units * per;
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
    if (SX) k4n_sum_x(x, k, m, s0, s1, sxAll);
    const bf16_t* xRow = x + (size_t)g * k + 4 * t;
    bool hasColumn = g < m;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, gate = 0.0f;
    int cu = 0, cs = s0;
    for (int i = 0; i < total; i += D)
    {
#pragma unroll
        for (int b = 0; b < D; b++)
        {
            if (i + b >= total) break;
            fetch(st[(b + D - 1) % D]);
            k4n_compute<SX>(st[b], xRow + (size_t)cs * 256, hasColumn, sxAll + cs * 64, t, acc);
            if (++cs != s1) continue;
            // Every warp ends its share of the tile at the same (i, b): per is the same for all.
#pragma unroll
            for (int r = 0; r < 4; r++) { partial[(warp * 4 + r) * 32 + lane] = acc[r]; acc[r] = 0.0f; }
            __syncthreads();
            float sum = 0.0f;
#pragma unroll
            for (int w = 0; w < W; w++) sum += partial[(w * 4 + (threadIdx.x >> 5)) * 32 + (threadIdx.x & 31)];
            int row = tile * 16 + (lane >> 2) + (warp >= 2 ? 8 : 0), col = 2 * (lane & 3) + (warp & 1);
            if (silu && cu == 0) gate = sum;
            else if (silu)
            {
                if (row < parts.n[0] && col < m)
                {
                    float gv = bf16_to_f32(f32_to_bf16(gate)), uv = bf16_to_f32(f32_to_bf16(sum));
                    ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gv / (1.0f + expf(-gv)) * uv);
                }
            }
            else if (row < (part == 0 ? parts.n[0] : part == 1 ? parts.n[1] : parts.n[2]) && col < m)
            {
                size_t o = (size_t)col * ldOut + column + row;
                if (outF32) ((float*)out)[o] = sum;
                else ((bf16_t*)out)[o] = f32_to_bf16(sum);
            }
            __syncthreads();   // partial is the next tile's
            cs = s0;
            cu++;
        }
    }
}

// m <= 8; k a multiple of 1,024 (4 warps × whole 256-k stages). grid: the launch's tiles, or the gate's tiles when silu.
// Dynamic shared memory: (k / 256) · 256 bytes when SX (Σx), else none.
#define K4N_KERNEL(NAME, D, SX, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(32 * K4N_WARPS, MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int silu) \
{ \
    __shared__ __align__(16) float partial[K4N_WARPS * 4 * 32]; \
    extern __shared__ __align__(16) float k4nSx[]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    k4n_body<D, SX>(parts, k, x, m, out, ldOut, outF32, silu, partial, k4nSx); \
}

K4N_KERNEL(gemv_k4n_d2_sx, 2, true, 4)
K4N_KERNEL(gemv_k4n_d3_sx, 3, true, 3)
K4N_KERNEL(gemv_k4n_d2_mx, 2, false, 4)
K4N_KERNEL(gemv_k4n_d3_mx, 3, false, 3)
