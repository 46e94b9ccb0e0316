// Compact Q4_K (K4, CudaQuantK4.cs) at decode batch sizes: one 256-k stage of a 16-row tile for gemv_kquant6.cu's
// streaming loop (kq_stream_tile). The data are G4's tiles (lane L's word j = k-tile j's 4-bit values in A-register
// order); per tile and super-block the params are [16 rows][8 scales, 8 mins] bytes and [16 rows] (f16 d, f16 dmin).
// Per 32-k sub-block f a lane gets G = Σ(128 + q)·x from one MMA a k-tile (q exact through the magic 0x4300) and Σx from
// an all-ones MMA; row r's value d·sc·Σqx − dmin·m·Σx is folded as sacc += sc·G, tacc += sc·Σx, macc += m·Σx and, once
// per super-block, acc += d·(sacc − 128·tacc) − dmin·macc: the file's own d, dmin, sc and m in F32, no rounded products.
#ifndef HEARTH_KQUANT4_CUH
#define HEARTH_KQUANT4_CUH

#define K4_PARAM_BYTES 320

struct K4Stage
{
    uint4 w[4];
    uint4 sma, smb;         // rows g, g + 8: scales 0-3, 4-7 (x, y), mins 0-3, 4-7 (z, w)
    unsigned int da, db;    // rows g, g + 8: f16 d | f16 dmin << 16
};

__device__ __forceinline__ void k4_fetch(const uint4* tileData, const unsigned char* tileParams, int s, int lane, int g, K4Stage& st)
{
#pragma unroll
    for (int u = 0; u < 4; u++) st.w[u] = load_streaming(tileData + (size_t)(4 * s + u) * 32 + lane);
    const unsigned char* p = tileParams + (size_t)s * K4_PARAM_BYTES;
    st.sma = __ldg((const uint4*)(p + 16 * g));
    st.smb = __ldg((const uint4*)(p + 16 * (g + 8)));
    st.da = __ldg((const unsigned int*)(p + 256) + g);
    st.db = __ldg((const unsigned int*)(p + 256) + g + 8);
}

// Byte f (0-7) of the pair (lo, hi) as a float: a 6-bit scale or min.
__device__ __forceinline__ float k4_byte(unsigned int lo, unsigned int hi, int f)
{
    return (float)(((f < 4 ? lo : hi) >> (8 * (f & 3))) & 0xFFu);
}

// acc (the MMA's C fragment: rows g, g + 8; columns 2t, 2t + 1) += this stage's x·Wᵀ.
__device__ __forceinline__ void k4_compute(const K4Stage& st, const bf16_t* xStage, bool hasColumn, float* acc)
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
            qm_mma(sx, one, one, one, one, xs.x, xs.y);
        }
        float sa = k4_byte(st.sma.x, st.sma.y, f), sb = k4_byte(st.smb.x, st.smb.y, f);
        float ma = k4_byte(st.sma.z, st.sma.w, f), mb = k4_byte(st.smb.z, st.smb.w, f);
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

// (w & 0x000F000F) | 0x43004300 in one LOP3: with both constants as immediates the compiler splits it into two.
__device__ __forceinline__ unsigned int k4_operand(unsigned int w)
{
    unsigned int r;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(r) : "r"(w), "n"(0x000F000F), "n"(0x43004300));
    return r;
}

// Byte f (0-7) of the pair (lo, hi) as a float: k4_byte (CONV 0) or, without the conversion instruction, PRMT + FADD
// (CONV 1, branch g6d: kquant6.cuh's kq_byte_float). The same value.
template <int CONV>
__device__ __forceinline__ float k4_byte_c(unsigned int lo, unsigned int hi, int f)
{
    if (CONV == 0) return k4_byte(lo, hi, f);
    unsigned int r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(f < 4 ? lo : hi), "r"(0x4B000000u), "r"(0x7650u | (f & 3)));
    return __int_as_float((int)r) - 8388608.0f;
}

// k4_compute with fewer instructions a weight (session 10, branch k4b), the same values bit for bit: each A register is
// one LOP3 (after its shift), and x is loaded unpredicated, lanes of rows g >= m reading row m − 1 (xStage is that row's):
// their columns of C are never stored, so nothing is zeroed a k-tile. CONV: k4_byte_c's.
template <int CONV = 0>
__device__ __forceinline__ void k4_compute_fast(const K4Stage& st, const bf16_t* xStage, float* acc)
{
    const unsigned int one = 0x3F803F80u;
    float sacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, tacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, macc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
#pragma unroll
    for (int f = 0; f < 8; f++)
    {
        float gacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, sx[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
#pragma unroll
        for (int j = 0; j < 2; j++)
        {
            const int kt = 2 * f + j;
            uint2 xs = __ldg((const uint2*)(xStage + kt * 16));
            const uint4& q = st.w[kt >> 2];
            unsigned int w = (kt & 3) == 0 ? q.x : (kt & 3) == 1 ? q.y : (kt & 3) == 2 ? q.z : q.w;
            qm_mma(gacc, k4_operand(w), k4_operand(w >> 4), k4_operand(w >> 8), k4_operand(w >> 12), xs.x, xs.y);
            qm_mma(sx, one, one, one, one, xs.x, xs.y);
        }
        float sa = k4_byte_c<CONV>(st.sma.x, st.sma.y, f), sb = k4_byte_c<CONV>(st.smb.x, st.smb.y, f);
        float ma = k4_byte_c<CONV>(st.sma.z, st.sma.w, f), mb = k4_byte_c<CONV>(st.smb.z, st.smb.w, f);
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

// One tile's K4 stages for kq_stream_tile (gemv_kquant6.cu). FAST: k4_compute_fast (the caller's xStage then points at
// row min(g, m − 1)).
template <bool FAST>
struct K4Source
{
    const uint4* tileData;
    const unsigned char* tileParams;
    int lane, g;
    __device__ __forceinline__ void fetch(int s, K4Stage& st) const { k4_fetch(tileData, tileParams, s, lane, g, st); }
    __device__ __forceinline__ void compute(const K4Stage& st, const bf16_t* xStage, bool hasColumn, float* acc) const
    {
        if (FAST) k4_compute_fast(st, xStage, acc);
        else k4_compute(st, xStage, hasColumn, acc);
    }
};

#endif
