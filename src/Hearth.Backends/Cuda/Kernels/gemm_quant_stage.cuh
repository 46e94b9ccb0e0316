// The per-stage arithmetic of gemm_quant.cu's gq_body, one function per layout family, and its epilogue: what a warp
// does with one shared-memory stage (x rows at xs, its tiles' weights at ws, the block's params at ps) whose first k is k0.
#ifndef HEARTH_GEMM_QUANT_STAGE_CUH
#define HEARTH_GEMM_QUANT_STAGE_CUH

// W8A8 (FMT 3): two k32 e4m3 MMAs into gacc, folded into acc with the weight and activation scales at each group end.
template <int NT>
__device__ __forceinline__ void gq_stage_w8a8(const GqArgs& a, const unsigned char* xs, const unsigned char* ws,
    const unsigned char* ps, int k0, int warp, int lane, float (&acc)[GQ_TPW][NT][4], float (&gacc)[GQ_TPW][NT][4])
{
    typedef GqStage<3, NT> S;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int j = 0; j < 2; j++)   // two k32 MMAs a stage
    {
        unsigned int af[GQ_TPW][4];
#pragma unroll
        for (int tt = 0; tt < GQ_TPW; tt++)
        {
            uint4 q = *(const uint4*)(ws + (tt * S::LPS + j) * 512 + lane * 16);
            af[tt][0] = gq_prmt(q.x, q.y, 0x5410u); af[tt][1] = gq_prmt(q.x, q.y, 0x7632u);
            af[tt][2] = gq_prmt(q.z, q.w, 0x5410u); af[tt][3] = gq_prmt(q.z, q.w, 0x7632u);
        }
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
        {
            const unsigned char* xr = xs + (nt * 8 + g) * S::XROW + j * 32 + 4 * t;
            unsigned int b0 = *(const unsigned int*)xr, b1 = *(const unsigned int*)(xr + 16);
#pragma unroll
            for (int tt = 0; tt < GQ_TPW; tt++) gq_mma_fp8(gacc[tt][nt], af[tt], b0, b1);
        }
    }
    if ((k0 + GQ_BK) % a.group == 0)
    {
        const float* scales = (const float*)ps;
#pragma unroll
        for (int tt = 0; tt < GQ_TPW; tt++)
        {
            float wsc = scales[warp * GQ_TPW + tt];
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
            {
                float x0 = wsc * scales[GQ_TPB + nt * 8 + 2 * t], x1 = wsc * scales[GQ_TPB + nt * 8 + 2 * t + 1];
                acc[tt][nt][0] = fmaf(x0, gacc[tt][nt][0], acc[tt][nt][0]);
                acc[tt][nt][1] = fmaf(x1, gacc[tt][nt][1], acc[tt][nt][1]);
                acc[tt][nt][2] = fmaf(x0, gacc[tt][nt][2], acc[tt][nt][2]);
                acc[tt][nt][3] = fmaf(x1, gacc[tt][nt][3], acc[tt][nt][3]);
#pragma unroll
                for (int e = 0; e < 4; e++) gacc[tt][nt][e] = 0.0f;
            }
        }
    }
}

// Compact Q6_K (FMT 4): four k16 MMAs, each A fragment rebuilt exactly from the 4- and 2-bit planes.
template <int NT>
__device__ __forceinline__ void gq_stage_g6(const unsigned char* xs, const unsigned char* ws, const unsigned char* ps, int k0,
    int warp, int lane, float (&acc)[GQ_TPW][NT][4])
{
    typedef GqStage<4, NT> S;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int ktl = 0; ktl < 4; ktl++)
    {
        unsigned int b[NT][2];
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
        {
            uint2 v = *(const uint2*)(xs + (nt * 8 + g) * S::XROW + ktl * 32 + 8 * t);
            b[nt][0] = v.x; b[nt][1] = v.y;
        }
        const int sub = ((k0 & 255) >> 4) + ktl;   // the 16-k sub-block within the super-block
#pragma unroll
        for (int tt = 0; tt < GQ_TPW; tt++)
        {
            const unsigned char* tw = ws + tt * 768;
            const unsigned char* tp = ps + (warp * GQ_TPW + tt) * 288;
            unsigned int lo = *(const unsigned int*)(tw + lane * 16 + ktl * 4);
            unsigned int hi = *(const unsigned int*)(tw + 512 + lane * 8 + (ktl >> 1) * 4);
            float sa = gq_half(*(const unsigned short*)(tp + 256 + 2 * g)) * (float)(int)(signed char)tp[16 * g + sub];
            float sb = gq_half(*(const unsigned short*)(tp + 256 + 2 * (g + 8))) * (float)(int)(signed char)tp[16 * (g + 8) + sub];
            unsigned int s2[2] = { gq_bf16x2(sa, sa), gq_bf16x2(sb, sb) };
            unsigned int af[4];
#pragma unroll
            for (int r = 0; r < 4; r++)
            {
                // Bits 4-5 of each half get the pair at 8·(k-tile & 1) + 2r: 128 + q exactly, then q − 32.
                const int shift = 8 * (ktl & 1) + 2 * r - 4;
                unsigned int h = shift >= 0 ? hi >> shift : hi << -shift;
                unsigned int v = ((lo >> (4 * r)) & 0x000F000Fu) | (h & 0x00300030u) | 0x43004300u;
                af[r] = gq_fma2(gq_fma2(v, 0x3F803F80u, 0xC320C320u), s2[r & 1], 0x80008000u);
            }
#pragma unroll
            for (int nt = 0; nt < NT; nt++) gq_mma(acc[tt][nt], af, b[nt][0], b[nt][1]);
        }
    }
}

// The tiled families (FMT 0 g4, 1 g8, 2 f8, 5 compact Q4_K): per k16 the A fragments dequantized to bf16 with the
// scales in sc (formed at each group start and at the stage's first k-tile, kept across stages), then the MMAs.
template <int FMT, int NT>
__device__ __forceinline__ void gq_stage_tiles(const GqArgs& a, const unsigned char* xs, const unsigned char* ws,
    const unsigned char* ps, int k0, int warp, int lane, unsigned int (&sc)[GQ_TPW][6], float (&acc)[GQ_TPW][NT][4])
{
    typedef GqStage<FMT, NT> S;
    const int g = lane >> 2, t = lane & 3;
    const int TPL = FMT == 0 || FMT == 5 ? 4 : 2;   // k-tiles per 16-byte load
    const int groupShift = __ffs(a.group) - 1;   // groups are powers of two (QuantGemmPlanner)
#pragma unroll
    for (int j = 0; j < S::LPS; j++)
    {
        uint4 q[GQ_TPW];
#pragma unroll
        for (int tt = 0; tt < GQ_TPW; tt++) q[tt] = *(const uint4*)(ws + (tt * S::LPS + j) * 512 + lane * 16);
#pragma unroll
        for (int kk = 0; kk < TPL; kk++)
        {
            const int ktl = j * TPL + kk, kAbs = k0 + ktl * 16;
            unsigned int b[NT][2];
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
            {
                uint2 v = *(const uint2*)(xs + (nt * 8 + g) * S::XROW + ktl * 32 + 8 * t);
                b[nt][0] = v.x; b[nt][1] = v.y;
            }
            if (((FMT <= 1 || FMT == 5) && (kAbs & (a.group - 1)) == 0) || ktl == 0)
            {
#pragma unroll
                for (int tt = 0; tt < GQ_TPW; tt++)
                {
                    if (FMT <= 1 || FMT == 5)
                    {
                        float sa, sb, oa, ob;
                        if (FMT == 5)
                        {
                            // K4: s = d·sc, o = −(dmin·m) of rows g, g + 8 for the sub-block at kAbs.
                            const unsigned char* tp = ps + (warp * GQ_TPW + tt) * 320;
                            const int sub = (kAbs & 255) >> 5;
                            unsigned int da = *(const unsigned int*)(tp + 256 + 4 * g), db = *(const unsigned int*)(tp + 256 + 4 * (g + 8));
                            sa = __fmul_rn(gq_half(da & 0xffffu), (float)tp[16 * g + sub]);
                            sb = __fmul_rn(gq_half(db & 0xffffu), (float)tp[16 * (g + 8) + sub]);
                            oa = -__fmul_rn(gq_half(da >> 16), (float)tp[16 * g + 8 + sub]);
                            ob = -__fmul_rn(gq_half(db >> 16), (float)tp[16 * (g + 8) + 8 + sub]);
                        }
                        else
                        {
                            int slot = (kAbs >> groupShift) - (k0 >> groupShift);
                            const unsigned int* pp = (const unsigned int*)ps + ((warp * GQ_TPW + tt) * GQ_MAX_GROUPS + slot) * 16;
                            unsigned int pa = pp[g], pb = pp[g + 8];
                            sa = gq_half(pa & 0xffffu); sb = gq_half(pb & 0xffffu); oa = gq_half(pa >> 16); ob = gq_half(pb >> 16);
                        }
                        sc[tt][0] = gq_bf16x2(sa, sa); sc[tt][1] = gq_bf16x2(sb, sb);
                        if (FMT == 0 || FMT == 5)
                        {
                            // w = s·q + o = s·(q + z) + r with z = rint(o / s): the integer z joins q exactly (for
                            // AWQ/GPTQ/Q4_0 o = −zero·s, so r ≈ 0), and only the small r is rounded to bf16.
                            float za = sa != 0.0f ? fminf(fmaxf(rintf(oa / sa), -120.0f), 120.0f) : 0.0f;
                            float zb = sb != 0.0f ? fminf(fmaxf(rintf(ob / sb), -120.0f), 120.0f) : 0.0f;
                            sc[tt][2] = gq_bf16x2(fmaf(-za, sa, oa), fmaf(-za, sa, oa)); sc[tt][3] = gq_bf16x2(fmaf(-zb, sb, ob), fmaf(-zb, sb, ob));
                            sc[tt][4] = gq_bf16x2(za - 128.0f, za - 128.0f); sc[tt][5] = gq_bf16x2(zb - 128.0f, zb - 128.0f);
                        }
                        else { sc[tt][2] = gq_bf16x2(oa, oa); sc[tt][3] = gq_bf16x2(ob, ob); }
                    }
                    else
                    {
                        float s = ((const float*)ps)[warp * GQ_TPW + tt];
                        sc[tt][0] = gq_bf16x2(s, s);
                    }
                }
            }
#pragma unroll
            for (int tt = 0; tt < GQ_TPW; tt++)
            {
                unsigned int af[4];
                if (FMT == 2)
                {
                    unsigned int w0 = kk == 0 ? q[tt].x : q[tt].z, w1 = kk == 0 ? q[tt].y : q[tt].w;
                    af[0] = gq_fma2(gq_e4m3x2(w0, 0x4140u), sc[tt][0], 0x80008000u);
                    af[1] = gq_fma2(gq_e4m3x2(w0, 0x4342u), sc[tt][0], 0x80008000u);
                    af[2] = gq_fma2(gq_e4m3x2(w1, 0x4140u), sc[tt][0], 0x80008000u);
                    af[3] = gq_fma2(gq_e4m3x2(w1, 0x4342u), sc[tt][0], 0x80008000u);
                }
                else
                {
                    const unsigned int mask = 0x000F000Fu, magic = 0x43004300u, one = 0x3F803F80u;
                    unsigned int w0, w1 = 0u;
                    if (FMT == 0 || FMT == 5) w0 = kk == 0 ? q[tt].x : kk == 1 ? q[tt].y : kk == 2 ? q[tt].z : q[tt].w;
                    else { w0 = kk == 0 ? q[tt].x : q[tt].z; w1 = kk == 0 ? q[tt].y : q[tt].w; }
#pragma unroll
                    for (int r = 0; r < 4; r++)
                    {
                        // Exact integers: g4 (128 + q) + (z − 128); g8 16·(128 + hi) − 2304 + (128 + lo) = u − 128.
                        unsigned int lo = ((w0 >> (4 * r)) & mask) | magic, qv;
                        if (FMT == 0 || FMT == 5) qv = gq_fma2(lo, one, sc[tt][4 + (r & 1)]);   // q + z, exact
                        else
                        {
                            unsigned int hi = ((w1 >> (4 * r)) & mask) | magic;
                            qv = gq_fma2(lo, one, gq_fma2(hi, 0x41804180u, 0xC510C510u));
                        }
                        af[r] = gq_fma2(qv, sc[tt][r & 1], sc[tt][2 + (r & 1)]);
                    }
                }
#pragma unroll
                for (int nt = 0; nt < NT; nt++) gq_mma(acc[tt][nt], af, b[nt][0], b[nt][1]);
            }
        }
    }
}

// Writes acc (unsplit), or this split's partials and, in the last split of the output tile to arrive, their sum in
// split order; resets the tile's counter for the next launch.
template <int NT>
__device__ __forceinline__ void gq_finish(const GqArgs& a, const float (&acc)[GQ_TPW][NT][4], bool active, int tile0,
    int partRows, int col0, int column, int warp, int lane)
{
    const int g = lane >> 2, t = lane & 3;
    const int rowBase = tile0 * 16 + warp * GQ_TPW * 16;
    if (a.splits == 1)
    {
        if (!active) return;
        gq_each_result<NT>(acc, rowBase, col0, partRows, a.m, g, t, [&](int row, int col, float v)
        {
            size_t o = (size_t)col * a.ldOut + column + row;
            if (a.outF32) ((float*)a.out)[o] = v;
            else ((bf16_t*)a.out)[o] = f32_to_bf16(v);
        });
        return;
    }
    if (active)
        gq_each_result<NT>(acc, rowBase, col0, partRows, a.m, g, t, [&](int row, int col, float v)
        {
            __stcg(a.partials + ((size_t)blockIdx.y * a.m + col) * a.nSum + column + row, v);
        });
    __threadfence();
    __syncthreads();
    __shared__ int gq_last;
    unsigned int* counter = a.counters + blockIdx.x * gridDim.z + blockIdx.z;
    if (threadIdx.x == 0) gq_last = atomicAdd(counter, 1u) == (unsigned int)a.splits - 1;
    __syncthreads();
    if (!gq_last) return;
    __threadfence();
    const int rows = min(GQ_TPB * 16, partRows - tile0 * 16), cols = min(NT * 8, a.m - col0);
    for (int idx = threadIdx.x; idx < rows * cols; idx += GQ_WARPS * 32)
    {
        int col = col0 + idx / rows, row = tile0 * 16 + idx % rows;
        float sum = 0.0f;
        for (int sp = 0; sp < a.splits; sp++) sum += __ldcg(a.partials + ((size_t)sp * a.m + col) * a.nSum + column + row);
        size_t o = (size_t)col * a.ldOut + column + row;
        if (a.outF32) ((float*)a.out)[o] = sum;
        else ((bf16_t*)a.out)[o] = f32_to_bf16(sum);
    }
    if (threadIdx.x == 0) *counter = 0u;
}

#endif
