// Batches of 1-8 rows (decode), streaming (g4 and f8 now stream into registers instead, QS_REG_MASK below; the ring
// described here serves g8): the same layouts and arithmetic as gemv_quant.cu's qm_body (operand
// helpers in common.cu), but each warp's weights
// travel through a ring of QS_RING stages in shared memory filled with cp.async (sm_80+), so the bytes in flight
// (warps x (QS_RING - 1) stages) cost no registers. A stage is QS_LOADS 16-byte loads per lane (KT k-tiles) plus
// the params of the GPS groups it covers (copied by the first lanes), so no fold waits on a global load either; x
// (read by every block, so it sits in L1/L2) is loaded a stage ahead into registers. Block = one 16-row tile,
// QS_WARPS warps each streaming a contiguous share of its k; their partial sums meet in the ring's memory. Written
// for programmatic dependent launch (common.cu): the first ring stages (weights and params, which no kernel writes)
// are requested before the wait, x after it. (Session 6 measured and dropped two variants: blocks of 2 or 4 tiles
// with the ring running on across tiles, which leave the GPU half empty on the 320-tile o and down products, and
// group sums of x by adds and shuffles instead of the all-ones MMA, 6 % slower for int4; docs/performance.md.)

#include "quant_splitk.cuh"
#ifndef QS_WARPS
#define QS_WARPS 4
#endif
#ifndef QS_LOADS
#define QS_LOADS 4
#endif
#ifndef QS_RING
#define QS_RING 4
#endif
#ifndef QS_MIN_BLOCKS
#define QS_MIN_BLOCKS 3
#endif
#define QS_PARAM_BYTES 512
#define QS_SLOT_BYTES (QS_LOADS * 512 + QS_PARAM_BYTES)

__device__ __forceinline__ unsigned int qs_shared_address(const void* p)
{
    unsigned int a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

__device__ __forceinline__ void qs_copy16(unsigned int dst, const void* src)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(dst), "l"(src) : "memory");
}

__device__ __forceinline__ void qs_copy4(unsigned int dst, const void* src)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" :: "r"(dst), "l"(src) : "memory");
}

// Bit FMT of QS_REG_MASK set: that format's weights stream into registers (qs_tile's REG: load_streaming into two
// alternating stage buffers) instead of the cp.async ring. Session 6 (q4) measured, µs a 14B layer at m = 1 with PDL:
// int4 80.3 registers / 87.3 ring, fp8 133.9 / 136.3, Q4_K 104.5 / 105.2, Q6_K 187.5 / 178.0, Q8_0 159.8 / 162.0, so
// g4 and f8 take registers and g8 keeps the ring (the harness's QS_RING 0 puts every format on registers).
#ifndef QS_REG_MASK
#define QS_REG_MASK (QS_RING == 0 ? 7 : 5)
#endif
#ifndef QS_REG_MIN_BLOCKS
#define QS_REG_MIN_BLOCKS (QS_RING == 0 ? QS_MIN_BLOCKS : 4)
#endif
#define QS_IS_REG(FMT) (((QS_REG_MASK) >> (FMT)) & 1)

// One k-tile's MMAs for the KT k-tiles of a stage (q: its QS_LOADS 16-byte loads, pa/pb: its GPS groups' params,
// xs: its x), folded into acc every P k-tiles (shared by the ring and the register stream).
template <int FMT, int GPS>
__device__ __forceinline__ void qs_stage(const uint4* q, const unsigned int* pa, const unsigned int* pb, const uint2* xs, float* acc)
{
    const int TPL = FMT == 0 ? 4 : 2, KT = TPL * QS_LOADS, P = KT / GPS;
    float gacc[2][4], sx[2][4];
#pragma unroll
    for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
#pragma unroll
    for (int j = 0; j < KT; j++)
    {
        uint4 w = q[j / TPL];
        int jj = j % TPL;
        unsigned int w0, w1 = 0u;
        if (FMT == 0) w0 = jj == 0 ? w.x : jj == 1 ? w.y : jj == 2 ? w.z : w.w;
        else { w0 = jj == 0 ? w.x : w.z; w1 = jj == 0 ? w.y : w.w; }
        unsigned int a[4], h[4];
        qm_operands<FMT>(w0, w1, a, h);
        const unsigned int one = 0x3F803F80u;
        qm_mma(gacc[j & 1], a[0], a[1], a[2], a[3], xs[j].x, xs[j].y);
        if (FMT == 1) qm_mma(gacc[j & 1], h[0], h[1], h[2], h[3], xs[j].x, xs[j].y);
        if (FMT != 2) qm_mma(sx[j & 1], one, one, one, one, xs[j].x, xs[j].y);
        if ((j + 1) % P != 0) continue;
        int f = j / P;
        if (FMT == 2)
        {
            float sc = __uint_as_float(pa[f]);
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                acc[i] = fmaf(sc, gacc[0][i] + gacc[1][i], acc[i]);
                gacc[0][i] = gacc[1][i] = 0.0f;
            }
            continue;
        }
        // The constant the magic numbers added to every q: 128 (g4), 2048 + 128 + 128 (g8, u = q + 128).
        const float bias = FMT == 0 ? 128.0f : 2304.0f;
        float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
        float oa = qm_half(pa[f] >> 16) - bias * sa, ob = qm_half(pb[f] >> 16) - bias * sb;
        float x0 = sx[0][0] + sx[1][0], x1 = sx[0][1] + sx[1][1];
        acc[0] = fmaf(sa, gacc[0][0] + gacc[1][0], fmaf(oa, x0, acc[0]));
        acc[1] = fmaf(sa, gacc[0][1] + gacc[1][1], fmaf(oa, x1, acc[1]));
        acc[2] = fmaf(sb, gacc[0][2] + gacc[1][2], fmaf(ob, x0, acc[2]));
        acc[3] = fmaf(sb, gacc[0][3] + gacc[1][3], fmaf(ob, x1, acc[3]));
#pragma unroll
        for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
    }
}

// One 16-row tile (tile: within its part) of x·W^T: returns, in thread i·32 + l of the block (i < 4), the block-wide
// sum of accumulator i of lane l (the MMA's C fragment: row 16·tile + l/4 (+8 for i >= 2), column 2·(l%4) + i%2).
// Every warp streams a contiguous share of k; partial sums meet in smem in warp order, so a tile's sums do not
// depend on which kernel (plain or SiLU-fused) ran it.
template <int FMT, int GPS, int REG>
__device__ __forceinline__ float qs_tile(const QmParts& parts, int part, int tile, int k, int group, int blockRows, int scaleCols,
    const bf16_t* x, int m, unsigned char* smem, int split = 0, int splits = 1, int prefetchLines = 0)
{
    const int KT = (FMT == 0 ? 4 : 2) * QS_LOADS;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int kTiles = k >> 4, stages = kTiles / KT, groups = k / group, groupShift = 31 - __clz(group >> 4);
    const uint4* data = parts.data[part] + (size_t)tile * (kTiles / (FMT == 0 ? 4 : 2)) * 32 + lane;
    const unsigned char* params = FMT == 2 ? (const unsigned char*)((const float*)parts.params[part] + (size_t)(tile * 16 / blockRows) * scaleCols)
        : (const unsigned char*)parts.params[part] + (size_t)tile * groups * 64;
    // Split k (splits > 1): the tile's stages are shared by splits · QS_WARPS warps over `splits` blocks, warp w of
    // split i taking the run of virtual warp i · QS_WARPS + w (stage ends are group ends or fold points).
    int vw = split * QS_WARPS + warp, vws = splits * QS_WARPS;
    int s0 = vw * stages / vws, s1 = (vw + 1) * stages / vws;
    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    const bf16_t* xRow = x + (size_t)g * k + 4 * t;
    if constexpr (REG != 0)
    {
        // Register stream: each lane's QS_LOADS loads of the next stage are in flight while this one is multiplied; two
        // named buffers (no register copies, which would wait on the loads) alternate.
        uint4 qa[QS_LOADS], qb[QS_LOADS];
        unsigned int paA[GPS], pbA[GPS], paB[GPS], pbB[GPS];
        auto fetch = [&](int s, uint4* q, unsigned int* pa, unsigned int* pb) {
            if (s >= s1) return;
            quant_stage_fetch<FMT, GPS, QS_LOADS>(data, params, s, (s * KT) >> groupShift, g, q, pa, pb);
        };
        auto compute = [&](int s, const uint4* q, const unsigned int* pa, const unsigned int* pb) {
            uint2 xs[KT];
#pragma unroll
            for (int j = 0; j < KT; j++) xs[j] = g < m ? __ldg((const uint2*)(xRow + (s * KT + j) * 16)) : make_uint2(0u, 0u);
#ifdef QS_NO_MATH
            acc[0] += __uint_as_float((q[0].x ^ q[QS_LOADS - 1].w ^ pa[0] ^ pb[0] ^ xs[0].x) & 0x3FFFFFFFu);
#else
            qs_stage<FMT, GPS>(q, pa, pb, xs, acc);
#endif
        };
        fetch(s0, qa, paA, pbA);
        qs_pdl_prefetch(data - lane, s0 + 1, s1, QS_LOADS * 512, lane, prefetchLines);
        HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one
        for (int s = s0; s < s1; s += 2)
        {
            fetch(s + 1, qb, paB, pbB);
            compute(s, qa, paA, pbA);
            if (s + 1 >= s1) break;
            fetch(s + 2, qa, paA, pbA);
            compute(s + 1, qb, paB, pbB);
        }
        __syncthreads();
    }
    else
    {
        unsigned char* myRing = smem + warp * QS_RING * QS_SLOT_BYTES;
        unsigned int ringAddress = qs_shared_address(myRing);

        // Every stage commits one group (empty past the end), so "stage s has landed" is always wait_group(QS_RING - 1).
        auto issue = [&](int s) {
            if (s < s1)
            {
                unsigned int slot = ringAddress + (s % QS_RING) * QS_SLOT_BYTES;
#pragma unroll
                for (int u = 0; u < QS_LOADS; u++) qs_copy16(slot + u * 512 + lane * 16, data + (size_t)(s * QS_LOADS + u) * 32);
                int grp = (s * KT) >> groupShift;
                if (FMT == 2) { if (lane < GPS) qs_copy4(slot + QS_LOADS * 512 + lane * 4, params + (size_t)(grp + lane) * 4); }
                else if (lane < 4 * GPS) qs_copy16(slot + QS_LOADS * 512 + lane * 16, params + (size_t)grp * 64 + lane * 16);
            }
            asm volatile("cp.async.commit_group;" ::: "memory");
        };
#pragma unroll
        for (int s = 0; s < QS_RING - 1; s++) issue(s0 + s);
        qs_pdl_prefetch(data - lane, s0 + QS_RING - 1, s1, QS_LOADS * 512, lane, prefetchLines);
        HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one

        uint2 xs[KT], xNext[KT];
#pragma unroll
        for (int j = 0; j < KT; j++) xNext[j] = g < m && s0 < s1 ? __ldg((const uint2*)(xRow + (s0 * KT + j) * 16)) : make_uint2(0u, 0u);
        for (int s = s0; s < s1; s++)
        {
            issue(s + QS_RING - 1);
#pragma unroll
            for (int j = 0; j < KT; j++)
            {
                xs[j] = xNext[j];
                xNext[j] = g < m && s + 1 < s1 ? __ldg((const uint2*)(xRow + ((s + 1) * KT + j) * 16)) : make_uint2(0u, 0u);
            }
            asm volatile("cp.async.wait_group %0;" :: "n"(QS_RING - 1) : "memory");
            __syncwarp();
            const unsigned char* slot = myRing + (s % QS_RING) * QS_SLOT_BYTES;
            uint4 q[QS_LOADS];
#pragma unroll
            for (int u = 0; u < QS_LOADS; u++) q[u] = *(const uint4*)(slot + u * 512 + lane * 16);
            unsigned int pa[GPS], pb[GPS];
#pragma unroll
            for (int f = 0; f < GPS; f++)
            {
                if (FMT == 2) pa[f] = pb[f] = *(const unsigned int*)(slot + QS_LOADS * 512 + f * 4);
                else
                {
                    pa[f] = *(const unsigned int*)(slot + QS_LOADS * 512 + f * 64 + g * 4);
                    pb[f] = *(const unsigned int*)(slot + QS_LOADS * 512 + f * 64 + (g + 8) * 4);
                }
            }
            __syncwarp();   // the slot is refilled at the next stage
#ifdef QS_NO_MATH
            acc[0] += __uint_as_float((q[0].x ^ q[QS_LOADS - 1].w ^ pa[0] ^ pb[0] ^ xs[0].x) & 0x3FFFFFFFu);
            continue;
#endif
            qs_stage<FMT, GPS>(q, pa, pb, xs, acc);
        }
        asm volatile("cp.async.wait_all;" ::: "memory");
        // The partial sums reuse the ring, which every warp is done with after this barrier.
        __syncthreads();
    }
    float (*partial)[4][32] = (float (*)[4][32])smem;
#pragma unroll
    for (int i = 0; i < 4; i++) partial[warp][i][lane] = acc[i];
    __syncthreads();
    float sum = 0.0f;
    if (threadIdx.x < 128)
    {
#pragma unroll
        for (int w = 0; w < QS_WARPS; w++) sum += partial[w][threadIdx.x >> 5][threadIdx.x & 31];
    }
    __syncthreads();   // smem is the next tile's
    return sum;
}

#define QS_SMEM_BYTES(FMT) (QS_IS_REG(FMT) ? QS_WARPS * 4 * 32 * 4 : QS_WARPS * QS_RING * QS_SLOT_BYTES)
#define QS_BLOCKS(FMT) (QS_IS_REG(FMT) ? QS_REG_MIN_BLOCKS : QS_MIN_BLOCKS)
static_assert(QS_WARPS >= 4, "a tile's 128 sums are finished by the block's first 128 threads");

__device__ __forceinline__ void qs_store(const QmParts& parts, int part, int tile, int column, float sum, int m, void* out, long long ldOut, int outF32)
{
    int i = threadIdx.x >> 5, l = threadIdx.x & 31;
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || row >= parts.n[part] || col >= m) return;
    size_t o = (size_t)col * ldOut + column + row;
    if (outF32) ((float*)out)[o] = sum;
    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
}

// Split k (session 8): blockIdx.x = tile · splits + split; `splits` blocks share each tile's k and splitk_finish
// (common.cu) adds their sums in split order. splits = 1 is the unsplit kernel's arithmetic exactly.
template <int FMT, int GPS>
__device__ __forceinline__ void qs_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    void* out, long long ldOut, int outF32, unsigned char* smem, int splits, float* partials, int* counters, int prefetchLines)
{
    int launchTile = blockIdx.x / splits, split = blockIdx.x % splits, tile = launchTile, part, column;
    qm_find_part(parts, tile, part, column);
    float sum = qs_tile<FMT, GPS, QS_IS_REG(FMT)>(parts, part, tile, k, group, blockRows, scaleCols, x, m, smem, split, splits, prefetchLines);
    if (splitk_finish(sum, launchTile, split, splits, partials, counters)) qs_store(parts, part, tile, column, sum, m, out, ldOut, outF32);
}

// IBackend.LinearSiluMul: part 0 is gate, part 1 up (same rows, n0 = n1); block b computes gate tile b, then up tile
// b, and writes out[m, n0] = silu(g)·u with g and u rounded to bf16 first and silu_mul_bf16's expression, so the
// result equals Linear then SiluMul bit for bit.
template <int FMT, int GPS>
__device__ __forceinline__ void qs_silu_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    bf16_t* out, unsigned char* smem)
{
    int tile = blockIdx.x;
    float gate = qs_tile<FMT, GPS, QS_IS_REG(FMT)>(parts, 0, tile, k, group, blockRows, scaleCols, x, m, smem);
    float up = qs_tile<FMT, GPS, QS_IS_REG(FMT)>(parts, 1, tile, k, group, blockRows, scaleCols, x, m, smem);
    int i = threadIdx.x >> 5, l = threadIdx.x & 31;
    int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = 2 * (l & 3) + (i & 1);
    if (threadIdx.x >= 128 || row >= parts.n[0] || col >= m) return;
    float g = bf16_to_f32(f32_to_bf16(gate)), u = bf16_to_f32(f32_to_bf16(up));
    out[(size_t)col * parts.n[0] + row] = f32_to_bf16(g / (1.0f + expf(-g)) * u);
}

// m <= 8; k a multiple of a stage's k-tiles KT, and groups of 2^i k-tiles that hold whole stages (GPS = 1) or whose
// 2, 4 or 8 fill one stage (the host checks; other shapes run gemv_g*). grid = tiles · splits; partials [tiles, splits,
// 128] f32 and counters [tiles] (zero) are the host's split-k workspace (unused when splits = 1).
#define QS_KERNEL(NAME, FMT) \
extern "C" __global__ void __launch_bounds__(32 * QS_WARPS, QS_BLOCKS(FMT)) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, int blockRows, \
    int scaleCols, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int splits, float* partials, int* counters, int prefetchLines) \
{ \
    __shared__ __align__(16) unsigned char smem[QS_SMEM_BYTES(FMT)]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    const int kt = (FMT == 0 ? 4 : 2) * QS_LOADS, tilesPerGroup = group >> 4; \
    if (tilesPerGroup * 8 == kt) qs_body<FMT, 8>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, smem, splits, partials, counters, prefetchLines); \
    else if (tilesPerGroup * 4 == kt) qs_body<FMT, 4>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, smem, splits, partials, counters, prefetchLines); \
    else if (tilesPerGroup * 2 == kt) qs_body<FMT, 2>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, smem, splits, partials, counters, prefetchLines); \
    else qs_body<FMT, 1>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32, smem, splits, partials, counters, prefetchLines); \
}

QS_KERNEL(gemv_g4_stream, 0)
QS_KERNEL(gemv_g8_stream, 1)
QS_KERNEL(gemv_f8_stream, 2)

// gate|up with SiLU·mul (qs_silu_body): d0/p0 gate, d1/p1 up, n rows each; grid = the gate's tiles.
#define QS_SILU_KERNEL(NAME, FMT) \
extern "C" __global__ void __launch_bounds__(32 * QS_WARPS, QS_BLOCKS(FMT)) NAME(const uint4* d0, const void* p0, \
    const uint4* d1, const void* p1, int n, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m, bf16_t* out) \
{ \
    __shared__ __align__(16) unsigned char smem[QS_SMEM_BYTES(FMT)]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n, d1, p1, n, d1, p1, 0); \
    const int kt = (FMT == 0 ? 4 : 2) * QS_LOADS, tilesPerGroup = group >> 4; \
    if (tilesPerGroup * 8 == kt) qs_silu_body<FMT, 8>(parts, k, group, blockRows, scaleCols, x, m, out, smem); \
    else if (tilesPerGroup * 4 == kt) qs_silu_body<FMT, 4>(parts, k, group, blockRows, scaleCols, x, m, out, smem); \
    else if (tilesPerGroup * 2 == kt) qs_silu_body<FMT, 2>(parts, k, group, blockRows, scaleCols, x, m, out, smem); \
    else qs_silu_body<FMT, 1>(parts, k, group, blockRows, scaleCols, x, m, out, smem); \
}

QS_SILU_KERNEL(gemv_silu_g4_stream, 0)
QS_SILU_KERNEL(gemv_silu_g8_stream, 1)
QS_SILU_KERNEL(gemv_silu_f8_stream, 2)

// GGUF K-quant mixes (session 7): Q4_K_M keeps attn_v in Q6_K on half the layers, so its q|k|v is g4, g4, g8. One
// launch serves parts of both families: bit p of g8Mask says part p is g8 (group8), else g4 (group4); each block runs
// its tile with that family's qs_tile, the unmixed kernels' exact sums (so results equal the per-family launches bit
// for bit). The alternative, a g4 launch for q|k and a 64-block g8 launch for v, leaves half the GPU idle for v.
template <int FMT>
__device__ __forceinline__ float qs_tile_any(const QmParts& parts, int part, int tile, int k, int group, const bf16_t* x, int m,
    unsigned char* smem, int split = 0, int splits = 1, int prefetchLines = 0)
{
    const int kt = (FMT == 0 ? 4 : 2) * QS_LOADS, tilesPerGroup = group >> 4;
    if (tilesPerGroup * 8 == kt) return qs_tile<FMT, 8, QS_IS_REG(FMT)>(parts, part, tile, k, group, 0, 0, x, m, smem, split, splits, prefetchLines);
    if (tilesPerGroup * 4 == kt) return qs_tile<FMT, 4, QS_IS_REG(FMT)>(parts, part, tile, k, group, 0, 0, x, m, smem, split, splits, prefetchLines);
    if (tilesPerGroup * 2 == kt) return qs_tile<FMT, 2, QS_IS_REG(FMT)>(parts, part, tile, k, group, 0, 0, x, m, smem, split, splits, prefetchLines);
    return qs_tile<FMT, 1, QS_IS_REG(FMT)>(parts, part, tile, k, group, 0, 0, x, m, smem, split, splits, prefetchLines);
}

// g4 through the cp.async ring (REG = 0) instead of registers: session 7 measured the register stream at only 1.4-1.8 TB/s
// on launches of a few hundred tiles (o and down: 320 tiles, 2.4 blocks an SM, two stages in flight a warp), where the
// g8 ring reached 2.4 TB/s on the same 320-tile down; gate|up (2,176 tiles) keeps the register stream.
template <int GPS>
__device__ __forceinline__ float qs_tile_g4_ring(const QmParts& parts, int part, int tile, int k, int group, const bf16_t* x, int m,
    unsigned char* smem, int split, int splits, int prefetchLines)
{
    return qs_tile<0, GPS, 0>(parts, part, tile, k, group, 0, 0, x, m, smem, split, splits, prefetchLines);
}

__device__ __forceinline__ float qs_tile_g4_ring_any(const QmParts& parts, int part, int tile, int k, int group, const bf16_t* x, int m,
    unsigned char* smem, int split = 0, int splits = 1, int prefetchLines = 0)
{
    const int kt = 4 * QS_LOADS, tilesPerGroup = group >> 4;
    if (tilesPerGroup * 8 == kt) return qs_tile_g4_ring<8>(parts, part, tile, k, group, x, m, smem, split, splits, prefetchLines);
    if (tilesPerGroup * 4 == kt) return qs_tile_g4_ring<4>(parts, part, tile, k, group, x, m, smem, split, splits, prefetchLines);
    if (tilesPerGroup * 2 == kt) return qs_tile_g4_ring<2>(parts, part, tile, k, group, x, m, smem, split, splits, prefetchLines);
    return qs_tile_g4_ring<1>(parts, part, tile, k, group, x, m, smem, split, splits, prefetchLines);
}

#define QS_RING_SMEM_BYTES (QS_WARPS * QS_RING * QS_SLOT_BYTES)
#define QS_MIXED_SMEM_BYTES (QS_SMEM_BYTES(0) > QS_RING_SMEM_BYTES ? QS_SMEM_BYTES(0) : QS_RING_SMEM_BYTES)

// Parts of one launch: g8 where bit p of g8Mask is set (group8), else g4 (group4), g4 through the ring when g4Ring is 1.
extern "C" __global__ void __launch_bounds__(32 * QS_WARPS, QS_MIN_BLOCKS) gemv_g4g8_stream(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group4, int group8, int g8Mask,
    int g4Ring, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int splits, float* partials, int* counters, int prefetchLines)
{
    __shared__ __align__(16) unsigned char smem[QS_MIXED_SMEM_BYTES];
    HEARTH_PDL_LAUNCH();
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2);
    int launchTile = blockIdx.x / splits, split = blockIdx.x % splits, tile = launchTile, part, column;
    qm_find_part(parts, tile, part, column);
    float sum = (g8Mask >> part) & 1 ? qs_tile_any<1>(parts, part, tile, k, group8, x, m, smem, split, splits, prefetchLines)
              : g4Ring ? qs_tile_g4_ring_any(parts, part, tile, k, group4, x, m, smem, split, splits, prefetchLines)
                       : qs_tile_any<0>(parts, part, tile, k, group4, x, m, smem, split, splits, prefetchLines);
    if (splitk_finish(sum, launchTile, split, splits, partials, counters)) qs_store(parts, part, tile, column, sum, m, out, ldOut, outF32);
}

// GGUF g4 parts alone (Q4_K o, down; q|k|v of the all-Q4_K layers) through the ring: gemv_g4_stream's arguments.
extern "C" __global__ void __launch_bounds__(32 * QS_WARPS, QS_MIN_BLOCKS) gemv_g4_ring_stream(const uint4* d0, const void* p0, int n0,
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, int blockRows,
    int scaleCols, const bf16_t* x, int m, void* out, long long ldOut, int outF32, int splits, float* partials, int* counters, int prefetchLines)
{
    __shared__ __align__(16) unsigned char smem[QS_RING_SMEM_BYTES];
    HEARTH_PDL_LAUNCH();
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2);
    int launchTile = blockIdx.x / splits, split = blockIdx.x % splits, tile = launchTile, part, column;
    qm_find_part(parts, tile, part, column);
    float sum = qs_tile_g4_ring_any(parts, part, tile, k, group, x, m, smem, split, splits, prefetchLines);
    if (splitk_finish(sum, launchTile, split, splits, partials, counters)) qs_store(parts, part, tile, column, sum, m, out, ldOut, outF32);
}

