// Compact Q6_K (G6, CudaQuantG6.cs) at decode batch sizes: one 256-k stage of a 16-row tile for the streaming loops of
// gemv_kquant6.cu (kq_stream_tile) and gemv_kquant4.cu (kqm_body). Register i of a k-tile's A operand is
// (lo >> 4i) & 0x000F000F | (hi moved to bits 4-5) & 0x00300030 | 0x43004300 = bf16x2 of 128 + q (q = 0..63, exact), and
// one fma.rn.bf16x2 (· 1 − 160) makes it q − 32, still exact. A k-tile is ONE mma.m16n8k16, folded by its row's int8
// scale into a super-block sum, which d multiplies once per 256 k.
#ifndef HEARTH_KQUANT6_CUH
#define HEARTH_KQUANT6_CUH

#define Q6_UNIT_BYTES 768
#define Q6_PARAM_BYTES 288

__device__ __forceinline__ uint2 q6_load8(const void* p)
{
    uint2 v;
    asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];" : "=r"(v.x), "=r"(v.y) : "l"(p));
    return v;
}

__device__ __forceinline__ unsigned int q6_fma2(unsigned int a, unsigned int b, unsigned int c)
{
    unsigned int r;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

// A register i of a k-tile as the exact bf16x2 pair q − 32: lo = the k-tile's 4-bit word, hi = the 2-bit word holding
// it, parity = k-tile & 1 (which byte of each half of hi).
template <int I, int PARITY>
__device__ __forceinline__ unsigned int q6_operand(unsigned int lo, unsigned int hi)
{
    const int shift = 8 * PARITY + 2 * I - 4;
    unsigned int h = shift >= 0 ? hi >> shift : hi << -shift;
    unsigned int v = ((lo >> (4 * I)) & 0x000F000Fu) | (h & 0x00300030u) | 0x43004300u;
    return q6_fma2(v, 0x3F803F80u, 0xC320C320u);
}

// q6_operand in two LOP3 (branch g6d): (lo >> 4i) & 0x000F000F | 0x43004300, then | h & 0x00300030, each one LOP3 with
// its constants as operands (written as one C expression the compiler spends a LOP3 per immediate). The same bits.
template <int I, int PARITY>
__device__ __forceinline__ unsigned int q6_operand_fast(unsigned int lo, unsigned int hi)
{
    const int shift = 8 * PARITY + 2 * I - 4;
    unsigned int h = shift >= 0 ? hi >> shift : hi << -shift, t, v;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(t) : "r"(lo >> (4 * I)), "n"(0x000F000F), "n"(0x43004300));
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(v) : "r"(h), "n"(0x00300030), "r"(t));
    return q6_fma2(v, 0x3F803F80u, 0xC320C320u);
}

// One 256-k stage of a lane: its 4-bit and 2-bit plane words, and its rows' (g, g + 8) int8 scales and f16 d.
struct Q6Stage
{
    uint4 lo[4];
    uint2 hi[4];
    uint4 sa, sb;
    unsigned int d;
};

__device__ __forceinline__ void q6_fetch(const unsigned char* tileData, const unsigned char* tileParams, int s, int lane, int g, Q6Stage& st)
{
#pragma unroll
    for (int u = 0; u < 4; u++)
    {
        const unsigned char* unit = tileData + (size_t)(4 * s + u) * Q6_UNIT_BYTES;
        st.lo[u] = load_streaming((const uint4*)(unit + lane * 16));
        st.hi[u] = q6_load8(unit + 512 + lane * 8);
    }
    const unsigned char* p = tileParams + (size_t)s * Q6_PARAM_BYTES;
    st.sa = __ldg((const uint4*)(p + 16 * g));
    st.sb = __ldg((const uint4*)(p + 16 * (g + 8)));
    st.d = (unsigned int)__ldg((const unsigned short*)(p + 256) + g) | ((unsigned int)__ldg((const unsigned short*)(p + 256) + g + 8) << 16);
}

__device__ __forceinline__ float q6_scale(const uint4& s, int kt)
{
    unsigned int w = kt < 4 ? s.x : kt < 8 ? s.y : kt < 12 ? s.z : s.w;
    return (float)(int)(signed char)(w >> (8 * (kt & 3)));
}

// Byte b of w as a float without a conversion instruction (the conversions run at a quarter of the ALU rate): PRMT puts
// it under the exponent of 2^23 and one FADD removes that, exactly. SIGNED: an int8 (its sign bit flipped first, so the
// byte is s + 128). The same value as (float) of the byte.
template <bool SIGNED>
__device__ __forceinline__ float kq_byte_float(unsigned int w, int b)
{
    unsigned int r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(SIGNED ? w ^ 0x80808080u : w), "r"(0x4B000000u), "r"(0x7650u | b));
    return __int_as_float((int)r) - (SIGNED ? 8388736.0f : 8388608.0f);
}

// q6_scale with kq_byte_float (CONV = 1): the same value.
template <int CONV>
__device__ __forceinline__ float q6_scale_c(const uint4& s, int kt)
{
    if (CONV == 0) return q6_scale(s, kt);
    unsigned int w = kt < 4 ? s.x : kt < 8 ? s.y : kt < 12 ? s.z : s.w;
    return kq_byte_float<true>(w, kt & 3);
}

// acc (the MMA's C fragment: rows g, g + 8; columns 2t, 2t + 1) += this stage's x·Wᵀ. FAST (branch g6d): the A registers
// by q6_operand_fast and x loaded unpredicated (lanes of rows g >= m read row m − 1, whose xStage the caller passes:
// their columns of C are never stored), CONV as q6_scale_c. Every FAST/CONV gives the same bits.
template <bool FAST, int CONV>
__device__ __forceinline__ void q6_compute_t(const Q6Stage& st, const bf16_t* xStage, bool hasColumn, float* acc)
{
    float sacc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
#pragma unroll
    for (int u = 0; u < 4; u++)
    {
#pragma unroll
        for (int j = 0; j < 4; j++)
        {
            const int kt = 4 * u + j;
            uint2 xs = FAST || hasColumn ? __ldg((const uint2*)(xStage + kt * 16)) : make_uint2(0u, 0u);
            unsigned int lo = j == 0 ? st.lo[u].x : j == 1 ? st.lo[u].y : j == 2 ? st.lo[u].z : st.lo[u].w;
            unsigned int hi = j < 2 ? st.hi[u].x : st.hi[u].y;
            unsigned int a0, a1, a2, a3;
            if (FAST)
            {
                if (j & 1) { a0 = q6_operand_fast<0, 1>(lo, hi); a1 = q6_operand_fast<1, 1>(lo, hi); a2 = q6_operand_fast<2, 1>(lo, hi); a3 = q6_operand_fast<3, 1>(lo, hi); }
                else { a0 = q6_operand_fast<0, 0>(lo, hi); a1 = q6_operand_fast<1, 0>(lo, hi); a2 = q6_operand_fast<2, 0>(lo, hi); a3 = q6_operand_fast<3, 0>(lo, hi); }
            }
            else if (j & 1) { a0 = q6_operand<0, 1>(lo, hi); a1 = q6_operand<1, 1>(lo, hi); a2 = q6_operand<2, 1>(lo, hi); a3 = q6_operand<3, 1>(lo, hi); }
            else { a0 = q6_operand<0, 0>(lo, hi); a1 = q6_operand<1, 0>(lo, hi); a2 = q6_operand<2, 0>(lo, hi); a3 = q6_operand<3, 0>(lo, hi); }
            float c[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
            qm_mma(c, a0, a1, a2, a3, xs.x, xs.y);
            float scA = q6_scale_c<CONV>(st.sa, kt), scB = q6_scale_c<CONV>(st.sb, kt);
            sacc[0] = fmaf(scA, c[0], sacc[0]);
            sacc[1] = fmaf(scA, c[1], sacc[1]);
            sacc[2] = fmaf(scB, c[2], sacc[2]);
            sacc[3] = fmaf(scB, c[3], sacc[3]);
        }
    }
    float dA = qm_half(st.d & 0xffffu), dB = qm_half(st.d >> 16);
    acc[0] = fmaf(dA, sacc[0], acc[0]);
    acc[1] = fmaf(dA, sacc[1], acc[1]);
    acc[2] = fmaf(dB, sacc[2], acc[2]);
    acc[3] = fmaf(dB, sacc[3], acc[3]);
}

__device__ __forceinline__ void q6_compute(const Q6Stage& st, const bf16_t* xStage, bool hasColumn, float* acc)
{
    q6_compute_t<false, 0>(st, xStage, hasColumn, acc);
}

#endif
