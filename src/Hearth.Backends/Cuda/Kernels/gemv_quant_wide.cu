// Batches of 1-8 rows (decode) over the f8 (and, opt-in, g4) tensor-core tiles (CudaQuantTiles), streamed the way
// gemv.cu's bf16 GEMV streams: every lane issues a whole stage of QW_LOADS independent 16-byte loads (512 contiguous
// bytes a load across the warp), waits for them, multiplies, and issues the next; no register double buffer and no
// shared-memory ring. A block is one 16-row tile and W = blockDim.x / 32 warps (CudaQuantWide.WarpsFor); warp w streams
// the contiguous stages [w·S/W, (w+1)·S/W) of the tile's k. The MMA operands and the per-group fold are
// gemv_quant_stream.cu's (sums of exact products, the scale applied per group), except that e4m3 is widened with a
// sign-replicating prmt (3 integer ops and one bf16x2 FMA per two weights). The warps' partial sums meet in shared
// memory in warp order, so a tile's sums do not depend on which kernel (plain or SiLU-fused) ran it. Programmatic
// dependent launch: each warp's first stage of weights (and any L2 prefetches) are issued before HEARTH_PDL_WAIT, x
// only after it. Session 7 (tools/gpu/f8_harness.cu, H100, fp8 14B layer at m = 1): 8 loads a stage, 4 warps a tile,
// 128 registers 119.7 µs against 128.5 for the register stream in the same run; 4 loads double-buffered 125.7; 64
// registers (32 warps a SM) 136-166 however split; L2 prefetch of later stages slower still (docs/performance.md).

#include "quant_splitk.cuh"
#ifndef QW_LOADS
#define QW_LOADS 8
#endif
// 1: the next stage's loads are issued before this stage's math (two register buffers).
#ifndef QW_DOUBLE
#define QW_DOUBLE 0
#endif
// Stages ahead of the one being loaded whose lines are pulled into L2 (prefetch.global.L2: no registers); 0 = none.
#ifndef QW_PREFETCH
#define QW_PREFETCH 0
#endif
#define QW_MAX_WARPS 8
// Blocks of QW_MAX_WARPS warps a SM the registers must allow: 2 caps them at 128 (the SiLU kernel's blocks are twice
// as large and take half as many, the same cap).
#ifndef QW_MIN_BLOCKS
#define QW_MIN_BLOCKS 2
#endif

// Two e4m3 bytes (bytes of w picked by the selector) -> bf16x2 of their exact values: the prmt puts byte b in the low
// byte of a half and its sign, replicated, in the high byte; << 4 and the mask leave sign << 15 | magnitude << 4
// (value · 2^-120 as a bf16, exact for subnormals too), and the FMA by 2^120 re-biases. Same bits as qm_e4m3x2.
// Selectors: 0x9180 = bytes 0, 1; 0xB3A2 = bytes 2, 3.
__device__ __forceinline__ unsigned int qw_e4m3x2(unsigned int w, unsigned int selector)
{
    unsigned int t, r;
    asm("prmt.b32 %0, %1, %1, %2;" : "=r"(t) : "r"(w), "r"(selector));
    unsigned int bits = (t << 4) & 0x87F087F0u;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(bits), "r"(0x7B807B80u), "r"(0x80008000u));
    return r;
}

// Session 11 (branch f8c), the "h" kernels (gemv_f8_wide_h, gemv_silu_f8_wide_h): on sm_89+ cvt.rn.f16x2.e4m3x2 widens
// two e4m3 in one instruction (exact: every e4m3 is an f16) and the MMA multiplies in f16. x is converted per stage,
// once per warp, into shared memory as f16 of x · 2^-8 (QW_XH_SCALE; undone in the f32 fold), exact for
// 2^-9 <= |x| < 2^24 (8 significant bits survive f16's subnormals down to 2^-17, and 65504 · 2^8 bounds the top), so
// every product, and with it the sum, is the bf16 kernel's times 2^-8 exactly in that range; smaller |x| round to
// multiples of 2^-16. Below sm_89 the h kernels are the bf16 kernels.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define QW_HAS_CVT_E4M3 1
#else
#define QW_HAS_CVT_E4M3 0
#endif
// Batch rows the h kernels convert into shared memory (more rows take the bf16 path inside the same kernel).
#ifndef QW_XH_ROWS
#define QW_XH_ROWS 4
#endif
// f16 elements a converted row holds: one stage of k and 16 of padding, so that rows 0-3 of one k fall in distinct banks.
#define QW_XH_STRIDE (2 * QW_LOADS * 16 + 16)
#define QW_XH_SCALE 0.00390625f

// e4m3 bytes 0, 1 (hi = false) or 2, 3 (hi = true) of w -> f16x2 (byte 0 / 2 in the low half).
template <bool HI>
__device__ __forceinline__ unsigned int qw_e4m3x2_f16(unsigned int w)
{
    unsigned int r = 0;
#if QW_HAS_CVT_E4M3
    if (HI) asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.rn.f16x2.e4m3x2 %0, hi; }" : "=r"(r) : "r"(w));
    else asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.rn.f16x2.e4m3x2 %0, lo; }" : "=r"(r) : "r"(w));
#endif
    return r;
}

__device__ __forceinline__ void qw_mma_f16(float* c, unsigned int a0, unsigned int a1, unsigned int a2, unsigned int a3, unsigned int b0, unsigned int b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// bf16x2 -> f16x2 of the values · 2^-8.
__device__ __forceinline__ unsigned int qw_x_f16(unsigned int u)
{
    float lo = __uint_as_float(u << 16) * QW_XH_SCALE, hi = __uint_as_float(u & 0xffff0000u) * QW_XH_SCALE;
    unsigned int r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// The warp's x for one stage (k from kBase, m <= QW_XH_ROWS rows) into xh [rows, QW_XH_STRIDE] as f16 · 2^-8.
__device__ __forceinline__ void qw_fill_xh(const bf16_t* x, int k, int m, int kBase, unsigned short* xh, int lane)
{
    const int Chunks = 2 * QW_LOADS * 16 / 8;   // 16-byte chunks of a row's stage
    for (int r = 0; r < m; r++)
#pragma unroll
        for (int c = lane; c < Chunks; c += 32)
        {
            uint4 v = __ldg((const uint4*)(x + (size_t)r * k + kBase) + c);
            uint4 h = make_uint4(qw_x_f16(v.x), qw_x_f16(v.y), qw_x_f16(v.z), qw_x_f16(v.w));
            *(uint4*)(xh + r * QW_XH_STRIDE + 8 * c) = h;
        }
}

// One stage: KT k-tiles from the QW_LOADS 16-byte words q, x of this lane's batch row (xs, when hasX) loaded per
// k-tile from L1/L2, folded into acc every P k-tiles with the GPS params pa/pb (f8: pa = scale bits).
// H: f16 operands (x in shared memory, xs pointing at this lane's row and k), else bf16 (x from global).
template <int FMT, int GPS, bool H>
__device__ __forceinline__ void qw_stage(const uint4* q, const unsigned int* pa, const unsigned int* pb, const bf16_t* xs, bool hasX, float* acc)
{
    const int TPL = FMT == 0 ? 4 : 2, KT = TPL * QW_LOADS, P = KT / GPS;
    float gacc[2][4], sx[2][4];
#pragma unroll
    for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
#pragma unroll
    for (int j = 0; j < KT; j++)
    {
        uint2 xv = !hasX ? make_uint2(0u, 0u) : H ? *(const uint2*)(xs + j * 16) : __ldg((const uint2*)(xs + j * 16));
        uint4 w = q[j / TPL];
        int jj = j % TPL;
        unsigned int a[4];
        if (FMT == 0)
        {
            unsigned int w0 = jj == 0 ? w.x : jj == 1 ? w.y : jj == 2 ? w.z : w.w;
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = ((w0 >> (4 * i)) & 0x000F000Fu) | 0x43004300u;
        }
        else if (H)
        {
            unsigned int w0 = jj == 0 ? w.x : w.z, w1 = jj == 0 ? w.y : w.w;
            a[0] = qw_e4m3x2_f16<false>(w0); a[1] = qw_e4m3x2_f16<true>(w0);
            a[2] = qw_e4m3x2_f16<false>(w1); a[3] = qw_e4m3x2_f16<true>(w1);
        }
        else
        {
            unsigned int w0 = jj == 0 ? w.x : w.z, w1 = jj == 0 ? w.y : w.w;
            a[0] = qw_e4m3x2(w0, 0x9180u); a[1] = qw_e4m3x2(w0, 0xB3A2u);
            a[2] = qw_e4m3x2(w1, 0x9180u); a[3] = qw_e4m3x2(w1, 0xB3A2u);
        }
        if (H) qw_mma_f16(gacc[j & 1], a[0], a[1], a[2], a[3], xv.x, xv.y);
        else qm_mma(gacc[j & 1], a[0], a[1], a[2], a[3], xv.x, xv.y);
        const unsigned int one = 0x3F803F80u;
        if (FMT == 0) qm_mma(sx[j & 1], one, one, one, one, xv.x, xv.y);
        if ((j + 1) % P != 0) continue;
        int f = j / P;
        if (FMT == 2)
        {
            float sc = H ? __uint_as_float(pa[f]) * (1.0f / QW_XH_SCALE) : __uint_as_float(pa[f]);
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                acc[i] = fmaf(sc, gacc[0][i] + gacc[1][i], acc[i]);
                gacc[0][i] = gacc[1][i] = 0.0f;
            }
            continue;
        }
        // g4: the magic number added 128 to every q.
        float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
        float oa = qm_half(pa[f] >> 16) - 128.0f * sa, ob = qm_half(pb[f] >> 16) - 128.0f * sb;
        float x0 = sx[0][0] + sx[1][0], x1 = sx[0][1] + sx[1][1];
        acc[0] = fmaf(sa, gacc[0][0] + gacc[1][0], fmaf(oa, x0, acc[0]));
        acc[1] = fmaf(sa, gacc[0][1] + gacc[1][1], fmaf(oa, x1, acc[1]));
        acc[2] = fmaf(sb, gacc[0][2] + gacc[1][2], fmaf(ob, x0, acc[2]));
        acc[3] = fmaf(sb, gacc[0][3] + gacc[1][3], fmaf(ob, x1, acc[3]));
#pragma unroll
        for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
    }
}

// Warp `warp` of `warps` streams its share of one 16-row tile (tile: within its part) and returns its partial sums in
// acc (the MMA's C fragment: row 16·tile + g (+8 for i >= 2), batch row 2t + i%2). Runs HEARTH_PDL_WAIT. H: the f16
// operands, xh this warp's [QW_XH_ROWS, QW_XH_STRIDE] shared buffer (m <= QW_XH_ROWS).
template <int FMT, int GPS, bool H>
__device__ __forceinline__ void qw_tile(const QmParts& parts, int part, int tile, int k, int group, int blockRows, int scaleCols,
    const bf16_t* x, int m, int warp, int warps, float* acc, int prefetchLines, unsigned short* xh)
{
    const int TPL = FMT == 0 ? 4 : 2, KT = TPL * QW_LOADS;
    int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int kTiles = k >> 4, stages = kTiles / KT, groups = k / group, groupShift = 31 - __clz(group >> 4);
    const uint4* tileData = parts.data[part] + (size_t)tile * (kTiles / TPL) * 32;
    const uint4* data = tileData + lane;
    const unsigned char* params = FMT == 2 ? (const unsigned char*)((const float*)parts.params[part] + (size_t)(tile * 16 / blockRows) * scaleCols)
        : (const unsigned char*)parts.params[part] + (size_t)tile * groups * 64;
    int s0 = warp * stages / warps, s1 = (warp + 1) * stages / warps;
    bool hasX = g < m;
    const bf16_t* xRow = H ? (const bf16_t*)xh + (hasX ? g : 0) * QW_XH_STRIDE + 4 * t : x + (size_t)(hasX ? g : 0) * k + 4 * t;
    auto fetch = [&](int s, uint4* q, unsigned int* pa, unsigned int* pb) {
        if (s >= s1) return;
        quant_stage_fetch<FMT, GPS, QW_LOADS>(data, params, s, (s * KT) >> groupShift, g, q, pa, pb);
    };
    // One 128-byte line a lane: a stage is 4·QW_LOADS lines.
    auto prefetch = [&](int s) {
        if (QW_PREFETCH > 0 && s < s1 && lane < 4 * QW_LOADS)
            prefetch_l2((const unsigned char*)(tileData + (size_t)s * QW_LOADS * 32) + lane * 128);
    };
    // H: the stage's x into xh once the previous stage's reads are done.
    auto stageX = [&](int s) -> const bf16_t* {
        if (!H) return xRow + (size_t)s * KT * 16;
        __syncwarp();
        qw_fill_xh(x, k, m, s * KT * 16, xh, lane);
        __syncwarp();
        return xRow;
    };
    uint4 qa[QW_LOADS];
    unsigned int paA[GPS], pbA[GPS];
    fetch(s0, qa, paA, pbA);
#pragma unroll
    for (int d = 1; d <= QW_PREFETCH; d++) prefetch(s0 + d);
    qs_pdl_prefetch(tileData, s0 + 1 + QW_PREFETCH, s1, QW_LOADS * 512, lane, prefetchLines);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one
#if QW_DOUBLE
    uint4 qb[QW_LOADS];
    unsigned int paB[GPS], pbB[GPS];
    for (int s = s0; s < s1; s += 2)
    {
        fetch(s + 1, qb, paB, pbB);
        prefetch(s + 1 + QW_PREFETCH);
        qw_stage<FMT, GPS, H>(qa, paA, pbA, stageX(s), hasX, acc);
        if (s + 1 >= s1) break;
        fetch(s + 2, qa, paA, pbA);
        prefetch(s + 2 + QW_PREFETCH);
        qw_stage<FMT, GPS, H>(qb, paB, pbB, stageX(s + 1), hasX, acc);
    }
#else
    for (int s = s0; s < s1; s++)
    {
        if (s > s0) fetch(s, qa, paA, pbA);
        prefetch(s + QW_PREFETCH);
        qw_stage<FMT, GPS, H>(qa, paA, pbA, stageX(s), hasX, acc);
    }
#endif
}

// The end of a one-warp block (session 11): the lane's four sums are the block's, stored as split-k partials in the
// layout of splitk_finish (value i · 32 + lane) and added by the tile's last block in split order from 0, so W = 1
// with S splits sums a tile exactly as W = S warps unsplit do (0 + p0 + p1 + ...). Returns whether this block writes.
__device__ __forceinline__ bool qw_finish_warp(float* sum, int tile, int split, int splits, float* partials, int* counters)
{
    if (splits == 1) return true;
    int lane = threadIdx.x & 31;
    float* mine = partials + ((size_t)tile * splits + split) * 128 + lane;
#pragma unroll
    for (int i = 0; i < 4; i++) __stcg(mine + i * 32, sum[i]);
    __threadfence();
    __syncwarp();
    int last = 0;
    if (lane == 0) last = atomicAdd(counters + tile, 1) == splits - 1;
    if (!__shfl_sync(0xffffffffu, last, 0)) return false;
    __threadfence();
    const float* p = partials + (size_t)tile * splits * 128 + lane;
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        float total = 0.0f;
        for (int sp = 0; sp < splits; sp++) total += __ldcg(p + (size_t)sp * 128 + i * 32);
        sum[i] = total;
    }
    if (lane == 0) counters[tile] = 0;
    return true;
}

// Split k (session 8): blockIdx.x = tile · splits + split; the tile's stages are shared by splits · W warps over
// `splits` blocks (warp w of split i streams the run of virtual warp i · W + w), and splitk_finish (common.cu) adds
// the blocks' sums in split order. splits = 1 is the unsplit arithmetic exactly. W = 1 (one-warp blocks) ends in
// qw_finish_warp instead.
template <int FMT, int GPS, bool H>
__device__ __forceinline__ void qw_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    void* out, long long ldOut, int outF32, float (*partial)[4][32], int splits, float* partials, int* counters, int prefetchLines,
    unsigned short* xh)
{
    int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int launchTile = blockIdx.x / splits, split = blockIdx.x % splits, tile = launchTile, part, column;
    qm_find_part(parts, tile, part, column);
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    qw_tile<FMT, GPS, H>(parts, part, tile, k, group, blockRows, scaleCols, x, m, split * warps + warp, splits * warps, acc, prefetchLines,
        H ? xh + warp * QW_XH_ROWS * QW_XH_STRIDE : xh);
    if (warps == 1)
    {
        float sum[4];
#pragma unroll
        for (int i = 0; i < 4; i++) sum[i] = 0.0f + acc[i];
        if (!qw_finish_warp(sum, launchTile, split, splits, partials, counters)) return;
#pragma unroll
        for (int i = 0; i < 4; i++)
        {
            int row = tile * 16 + (lane >> 2) + (i >= 2 ? 8 : 0), col = 2 * (lane & 3) + (i & 1);
            if (row >= parts.n[part] || col >= m) continue;
            size_t o = (size_t)col * ldOut + column + row;
            if (outF32) ((float*)out)[o] = sum[i];
            else ((bf16_t*)out)[o] = f32_to_bf16(sum[i]);
        }
        return;
    }
#pragma unroll
    for (int i = 0; i < 4; i++) partial[warp][i][lane] = acc[i];
    __syncthreads();
    int i = (threadIdx.x >> 5) & 3;
    float sum = 0.0f;
    for (int w = 0; w < warps; w++) sum += partial[w][i][lane];
    if (!splitk_finish(sum, launchTile, split, splits, partials, counters) || threadIdx.x >= 128) return;
    int row = tile * 16 + (lane >> 2) + (i >= 2 ? 8 : 0), col = 2 * (lane & 3) + (i & 1);
    if (row >= parts.n[part] || col >= m) return;
    size_t o = (size_t)col * ldOut + column + row;
    if (outF32) ((float*)out)[o] = sum;
    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
}

// IBackend.LinearSiluMul: part 0 gate, part 1 up (n rows each). The block has 2W warps: the first W stream gate tile
// b exactly as the unfused kernel's W warps do, the other W the same up tile, side by side; the sums are rounded to
// bf16 and combined with silu_mul_bf16's expression, so the result equals Linear then SiluMul bit for bit (the host
// gives the unfused gate|up launch the same W, and the same kernel family: h or bf16).
template <int FMT, int GPS, bool H>
__device__ __forceinline__ void qw_silu_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    bf16_t* out, float (*partial)[4][32], unsigned short* xh)
{
    int warps = blockDim.x >> 6, warp = threadIdx.x >> 5, lane = threadIdx.x & 31, half = warp >= warps ? 1 : 0;
    int tile = blockIdx.x;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    qw_tile<FMT, GPS, H>(parts, half, tile, k, group, blockRows, scaleCols, x, m, warp - half * warps, warps, acc, 0,
        H ? xh + warp * QW_XH_ROWS * QW_XH_STRIDE : xh);
#pragma unroll
    for (int i = 0; i < 4; i++) partial[warp][i][lane] = acc[i];
    __syncthreads();
    if (threadIdx.x >= 128) return;
    int i = threadIdx.x >> 5;
    float gate = 0.0f, up = 0.0f;
    for (int w = 0; w < warps; w++) gate += partial[w][i][lane];
    for (int w = 0; w < warps; w++) up += partial[warps + w][i][lane];
    int row = tile * 16 + (lane >> 2) + (i >= 2 ? 8 : 0), col = 2 * (lane & 3) + (i & 1);
    if (row >= parts.n[0] || col >= m) return;
    float gr = bf16_to_f32(f32_to_bf16(gate)), ur = bf16_to_f32(f32_to_bf16(up));
    out[(size_t)col * parts.n[0] + row] = f32_to_bf16(gr / (1.0f + expf(-gr)) * ur);
}

// The group-size dispatch of a kernel body: GPS = groups a stage (1 when a group holds whole stages).
#define QW_DISPATCH(BODY, H, ...) \
    const int kt = (FMT == 0 ? 4 : 2) * QW_LOADS, tilesPerGroup = group >> 4; \
    if (tilesPerGroup * 8 == kt) BODY<FMT, 8, H>(__VA_ARGS__); \
    else if (tilesPerGroup * 4 == kt) BODY<FMT, 4, H>(__VA_ARGS__); \
    else if (tilesPerGroup * 2 == kt) BODY<FMT, 2, H>(__VA_ARGS__); \
    else BODY<FMT, 1, H>(__VA_ARGS__);

// m <= 8; blockDim.x = 32·W (W = 1, 4 or 8: the epilogue needs 128 threads, or one warp, which ends in qw_finish_warp); k a multiple of a stage's k-tiles, and
// groups of 2^i k-tiles that hold whole stages (GPS = 1) or whose 2, 4 or 8 fill one stage (CudaQuantWide.Fits).
// grid = tiles · splits; partials [tiles, splits, 128] f32 and counters [tiles] (zero) are the host's split-k
// workspace (unused when splits = 1). HK: the h kernel (f16 operands on sm_89+ for m <= QW_XH_ROWS).
#define QW_KERNEL(NAME, FMT_, HK) \
extern "C" __global__ void __launch_bounds__(32 * QW_MAX_WARPS, QW_MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, int blockRows, \
    int scaleCols, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int splits, float* partials, int* counters, int prefetchLines) \
{ \
    const int FMT = FMT_; \
    __shared__ float partial[QW_MAX_WARPS][4][32]; \
    __shared__ __align__(16) unsigned short xh[HK && QW_HAS_CVT_E4M3 ? QW_MAX_WARPS * QW_XH_ROWS * QW_XH_STRIDE : 8]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if (HK && QW_HAS_CVT_E4M3 && m <= QW_XH_ROWS) \
    { \
        QW_DISPATCH(qw_body, HK && QW_HAS_CVT_E4M3, parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, partial, splits, partials, counters, prefetchLines, xh) \
    } \
    else \
    { \
        QW_DISPATCH(qw_body, false, parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, partial, splits, partials, counters, prefetchLines, xh) \
    } \
}

QW_KERNEL(gemv_g4_wide, 0, false)
QW_KERNEL(gemv_f8_wide, 2, false)
QW_KERNEL(gemv_f8_wide_h, 2, true)

// gate|up with SiLU·mul (qw_silu_body): d0/p0 gate, d1/p1 up, n rows each; grid = the gate's tiles, blockDim.x = 64·W.
#define QW_SILU_KERNEL(NAME, FMT_, HK) \
extern "C" __global__ void __launch_bounds__(64 * QW_MAX_WARPS, QW_MIN_BLOCKS > 1 ? QW_MIN_BLOCKS / 2 : 1) NAME(const uint4* d0, \
    const void* p0, const uint4* d1, const void* p1, int n, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m, bf16_t* out) \
{ \
    const int FMT = FMT_; \
    __shared__ float partial[2 * QW_MAX_WARPS][4][32]; \
    __shared__ __align__(16) unsigned short xh[HK && QW_HAS_CVT_E4M3 ? 2 * QW_MAX_WARPS * QW_XH_ROWS * QW_XH_STRIDE : 8]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n, d1, p1, n, d1, p1, 0); \
    if (HK && QW_HAS_CVT_E4M3 && m <= QW_XH_ROWS) \
    { \
        QW_DISPATCH(qw_silu_body, HK && QW_HAS_CVT_E4M3, parts, k, group, blockRows, scaleCols, x, m, out, partial, xh) \
    } \
    else \
    { \
        QW_DISPATCH(qw_silu_body, false, parts, k, group, blockRows, scaleCols, x, m, out, partial, xh) \
    } \
}

QW_SILU_KERNEL(gemv_silu_g4_wide, 0, false)
QW_SILU_KERNEL(gemv_silu_f8_wide, 2, false)
QW_SILU_KERNEL(gemv_silu_f8_wide_h, 2, true)
