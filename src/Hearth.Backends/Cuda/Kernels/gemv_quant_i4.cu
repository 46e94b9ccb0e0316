// Batches of 1-8 rows (decode) of g4 weights with AWQ-like groups (session 9, branch i4): gemv_quant_stream.cu's
// register stream generalised to D stage buffers of L 16-byte loads a lane, so (D - 1) stages of every warp are in
// flight while it multiplies one (the stream kernel: D = 2, L = 4, one 2 KB stage a warp), and to blocks that run a
// contiguous range of tiles with the stream running on across them: the next tile's first stages are already loaded
// when a tile's warps meet for its sum. Same tile layout (CudaQuantTiles), same per-tile arithmetic as qs_tile: W warps
// each take a contiguous 1/W of the tile's k-tiles and fold every group into their sums in k order, and the warps'
// sums meet in warp order, so with W = 4 a tile's result equals gemv_g4_stream's bit for bit (whatever D, L and the
// grid), and the SiLU-fused launch equals the plain one on its gate and up tiles.
// Programmatic dependent launch (common.cu): the first D - 1 stages (weights and params, which no kernel writes) are
// requested before the wait, x and out are touched only after it.
// Shipped: W 4, L 4, D 3 at 3 blocks an SM (168 registers, no spills), for launches that fit one wave (CudaQuantI4): the
// 14B o and down. Session 9's harness (tools/gpu/i4_harness.cu, H100, µs at m = 1) measured o 9.80 → 8.14 and down
// 27.22 → 21.26 with it; D 4 and L 2 with D 3-6 were slower or equal, 8 warps (L 2) and 2 warps (L 4, D 4) slower, the
// 448-tile q|k|v slower at 3 blocks an SM (two waves), and the blocks-over-tile-ranges grid gave gate|up nothing
// (39.6 against 40.0). The harness instances its variants from I4_KERNEL below.
// Session 10 (branch i4b): the stage was short of issue slots, not of bytes in flight. The A operands in one lop3
// each (both constants in registers; the compiler's immediates took two instructions) cut the D3 kernel's LOP3s by 384
// (3,912 → 3,536 instructions) with the same values, and the harness (µs at m = 1) measured o 8.13 → 7.71, down 21.19 →
// 19.44, gate|up + SiLU on the balanced grid 39.98 → 36.91 (main 40.27), and with it D2 at 4 blocks an SM takes the
// 448-tile q|k|v in one wave, 10.21 → 9.41. Leaving out the all-ones MMA (x's group sums; timing only) gained about as
// much again on gate|up (40.72 → 38.01 without lop3). A stream-K grid (every resident warp an equal run of stages)
// was 5-90 % slower than main's kernel (tools/gpu/i4_harness.cu at commit 2470d7f).
// Session 11 (branch i4c): x's group sums at half the MMAs (A = two k-tiles of x as loaded, B = ones) and the x loads
// unpredicated from one pointer a stage: 3,536 → 3,368 instructions in the D3 kernel, through the backend (H100, 14B,
// µs at m = 1) q|k|v 9.6 → 9.3, o 7.9 → 7.5, gate|up + SiLU 36.4 → 35.3, down 19.9 → 19.2, the step 3.94 → 3.85 ms. The
// operands q - z (no sums; one bf16x2 FMA a register) were no faster than the all-ones MMA they replace, and the sums
// kept once a warp in shared memory slower (docs/performance/quantized.md, session 11).

// A operands of one k-tile word: qm_operands<0>'s values in one lop3 each ((w >> 4i) & mask | magic) with both
// constants in registers, where the compiler's immediates cost two (session 10).
__device__ __forceinline__ void i4_operands_lop3(unsigned int w, unsigned int* a)
{
    unsigned int mask = 0x000F000Fu, magic = 0x43004300u;
#pragma unroll
    for (int i = 0; i < 4; i++) asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(a[i]) : "r"(w >> (4 * i)), "r"(mask), "r"(magic));
}

// Session 11 (branch i4c): -(128 + z) as a bf16x2 pair from a group's (scale, offset), offset = f16(-z · scale) with
// an integer zero point z in [0, 16] (Int4Group: AWQ 0-15, old GPTQ exports up to 16, symmetric 8). offset / scale is
// -z within 16 · 2^-11 (the f16 rounding of the offset), so o · rcp(s) - 128 lies within 0.01 of -(128 + z), and
// rounding it to bf16, whose spacing is 1 on [128, 256), gives -(128 + z) exactly. A scale of 0 (NaN here) clamps
// to -144: any z is right for it, its weights are 0.
__device__ __forceinline__ unsigned int i4_zero_operand(unsigned int p)
{
    float s = qm_half(p & 0xffffu), o = qm_half(p >> 16), r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(s));
    float y = fmaxf(fmaf(o, r, -128.0f), -144.0f);
    unsigned int z;
    asm("cvt.rn.bf16x2.f32 %0, %1, %1;" : "=r"(z) : "f"(y));
    return z;
}

// (128 + q) + (-(128 + z)) = q - z in [-16, 15], exact in bf16: the operand the MMA multiplies directly (sm_80+).
__device__ __forceinline__ unsigned int i4_minus_zero(unsigned int a, unsigned int z)
{
    unsigned int r;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(0x3F803F80u), "r"(z));
    return r;
}

// One stage (KT = 4 L k-tiles) of MMAs, folded into acc every P = KT / GPS k-tiles with the groups' params. V (session
// 10's harness): 0 as shipped; 1 the lop3 operands (the same values); 2 no math (loads only) and 3 no all-ones MMA
// (wrong offsets), which only time what the math costs.
// Session 11: 4 the operands q - z (i4_minus_zero) and a fold of one FMA a group, no all-ones MMA; 5 x's group sums from
// sums (shared memory, per warp and fold: written by the first tile a warp runs, mode 7, which computes them with the
// all-ones MMA as mode 1 does, and read by its later tiles: the same values, so mode 1's bits); 6 mode 1's arithmetic
// (i4_body gives modes 4 and up unpredicated x loads); 8 x's group sums from one MMA every two k-tiles.
template <int GPS, int L, int V = 0>
__device__ __forceinline__ void i4_stage(const uint4* q, const unsigned int* pa, const unsigned int* pb, const uint2* xs, float* acc,
    float2* sums = nullptr)
{
    const int KT = 4 * L, P = KT / GPS;
    const unsigned int one = 0x3F803F80u;
    if (V == 2)
    {
        acc[0] += __uint_as_float((q[0].x ^ q[L - 1].w ^ pa[0] ^ pb[GPS - 1] ^ xs[0].x ^ xs[KT - 1].y) & 0x3FFFFFFFu);
        return;
    }
    if (V == 4)
    {
        unsigned int za[GPS], zb[GPS];
#pragma unroll
        for (int f = 0; f < GPS; f++) { za[f] = i4_zero_operand(pa[f]); zb[f] = i4_zero_operand(pb[f]); }
        float d[2][4];
#pragma unroll
        for (int i = 0; i < 4; i++) d[0][i] = d[1][i] = 0.0f;
#pragma unroll
        for (int j = 0; j < KT; j++)
        {
            uint4 w = q[j / 4];
            unsigned int w0 = (j & 3) == 0 ? w.x : (j & 3) == 1 ? w.y : (j & 3) == 2 ? w.z : w.w, a[4];
            const int f = j / P;
            i4_operands_lop3(w0, a);
            // a0, a2: row g; a1, a3: row g + 8.
            qm_mma(d[j & 1], i4_minus_zero(a[0], za[f]), i4_minus_zero(a[1], zb[f]), i4_minus_zero(a[2], za[f]), i4_minus_zero(a[3], zb[f]),
                xs[j].x, xs[j].y);
            if ((j + 1) % P != 0) continue;
            float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
            acc[0] = fmaf(sa, d[0][0] + d[1][0], acc[0]);
            acc[1] = fmaf(sa, d[0][1] + d[1][1], acc[1]);
            acc[2] = fmaf(sb, d[0][2] + d[1][2], acc[2]);
            acc[3] = fmaf(sb, d[0][3] + d[1][3], acc[3]);
#pragma unroll
            for (int i = 0; i < 4; i++) d[0][i] = d[1][i] = 0.0f;
        }
        return;
    }
    if (V == 8)
    {
        // x's group sums at half the MMAs: A = x row g's values of k-tiles j - 1 and j as the lane loaded them, {xs[j - 1],
        // xs[j]} in register order (a0 a1 a2 a3, so no register moves: a first version that put k-tile j - 1 in row g and
        // j in row g + 8 needed 4 moves an MMA), B = ones: C rows g and g + 8 get two halves of x row g's sum over both
        // k-tiles, lane 4g + t adds them, and the fold takes rows 2t and 2t + 1 (its C columns) from lanes 8t and 8t + 4.
        float gacc[2][4], sx[4];
#pragma unroll
        for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < KT; j++)
        {
            uint4 w = q[j / 4];
            unsigned int w0 = (j & 3) == 0 ? w.x : (j & 3) == 1 ? w.y : (j & 3) == 2 ? w.z : w.w, a[4];
            i4_operands_lop3(w0, a);
            qm_mma(gacc[j & 1], a[0], a[1], a[2], a[3], xs[j].x, xs[j].y);
            if (j & 1) qm_mma(sx, xs[j - 1].x, xs[j - 1].y, xs[j].x, xs[j].y, one, one);
            if ((j + 1) % P != 0) continue;
            const int f = j / P;
            float rowSum = sx[0] + sx[2];
            int t8 = (threadIdx.x & 3) * 8;
            float x0 = __shfl_sync(0xffffffffu, rowSum, t8), x1 = __shfl_sync(0xffffffffu, rowSum, t8 + 4);
            float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
            float oa = qm_half(pa[f] >> 16) - 128.0f * sa, ob = qm_half(pb[f] >> 16) - 128.0f * sb;
            acc[0] = fmaf(sa, gacc[0][0] + gacc[1][0], fmaf(oa, x0, acc[0]));
            acc[1] = fmaf(sa, gacc[0][1] + gacc[1][1], fmaf(oa, x1, acc[1]));
            acc[2] = fmaf(sb, gacc[0][2] + gacc[1][2], fmaf(ob, x0, acc[2]));
            acc[3] = fmaf(sb, gacc[0][3] + gacc[1][3], fmaf(ob, x1, acc[3]));
#pragma unroll
            for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[i] = 0.0f;
        }
        return;
    }
    float gacc[2][4], sx[2][4];
#pragma unroll
    for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
#pragma unroll
    for (int j = 0; j < KT; j++)
    {
        uint4 w = q[j / 4];
        unsigned int w0 = (j & 3) == 0 ? w.x : (j & 3) == 1 ? w.y : (j & 3) == 2 ? w.z : w.w, a[4], h[4];
        if (V == 0) qm_operands<0>(w0, 0u, a, h);
        else i4_operands_lop3(w0, a);
        qm_mma(gacc[j & 1], a[0], a[1], a[2], a[3], xs[j].x, xs[j].y);
        if (V != 3 && V != 5) qm_mma(sx[j & 1], one, one, one, one, xs[j].x, xs[j].y);
        if ((j + 1) % P != 0) continue;
        int f = j / P;
        // 128: the constant the magic number added to every nibble (qm_operands).
        float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
        float oa = qm_half(pa[f] >> 16) - 128.0f * sa, ob = qm_half(pb[f] >> 16) - 128.0f * sb;
        float x0 = sx[0][0] + sx[1][0], x1 = sx[0][1] + sx[1][1];
        // Lane 4g + t holds the sums of x rows 2t and 2t + 1 (every g alike): lanes 0-3 store them, all lanes read.
        if (V == 7 && (threadIdx.x & 28) == 0) sums[f * 4 + (threadIdx.x & 3)] = make_float2(x0, x1);
        if (V == 5) { float2 v = sums[f * 4 + (threadIdx.x & 3)]; x0 = v.x; x1 = v.y; }
        acc[0] = fmaf(sa, gacc[0][0] + gacc[1][0], fmaf(oa, x0, acc[0]));
        acc[1] = fmaf(sa, gacc[0][1] + gacc[1][1], fmaf(oa, x1, acc[1]));
        acc[2] = fmaf(sb, gacc[0][2] + gacc[1][2], fmaf(ob, x0, acc[2]));
        acc[3] = fmaf(sb, gacc[0][3] + gacc[1][3], fmaf(ob, x1, acc[3]));
#pragma unroll
        for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
    }
}

// Where virtual tile v of a launch lives: silu launches interleave gate and up (v = 2 · tile + part), plain ones number
// the parts' tiles in order (qm_find_part).
__device__ __forceinline__ void i4_locate(const QmParts& parts, int v, int silu, int& part, int& tile, int& column)
{
    if (silu) { part = v & 1; tile = v >> 1; column = 0; return; }
    tile = v;
    qm_find_part(parts, tile, part, column);
}

// A stream cursor: virtual tile v and stage s of warp `warp`'s share, with its tile's data and params.
struct I4Cursor
{
    int v, s, part, tile, column;
    const uint4* data;
    const unsigned char* params;
};

__device__ __forceinline__ void i4_seek(I4Cursor& c, const QmParts& parts, int v, int firstStage, int silu, int kLoads, int groups, int lane)
{
    c.v = v;
    c.s = firstStage;
    i4_locate(parts, v, silu, c.part, c.tile, c.column);
    c.data = parts.data[c.part] + (size_t)c.tile * kLoads * 32 + lane;
    c.params = (const unsigned char*)parts.params[c.part] + (size_t)c.tile * groups * 64;
}

// Block b runs units [b·U/G, (b+1)·U/G) of the U = tiles (plain) or gate|up tile pairs (silu) of the launch, G =
// gridDim.x. Each warp streams stages [w·per, (w+1)·per) of each of its virtual tiles back to back through D
// register buffers; host guarantees stages % W == 0. silu: out = silu(gate)·up, bf16 [m, n0] (the unfused Linear then
// SiluMul's rounding); else out[col · ldOut + column + row] (f32 or bf16).
// V 5 only: folds a warp (stages a warp × groups a stage) at most I4_SUM_FOLDS (CudaQuantI4.SumFolds).
#define I4_SUM_FOLDS 64
// V >= 4 (session 11): lanes of x rows g >= m load row m - 1 instead of zeros (their columns of C are never stored), so
// the x loads need no predicate; V 5: sums holds each warp's x group sums (SumFolds folds a warp).
template <int W, int L, int D, int GPS, int V = 0>
__device__ __forceinline__ void i4_body(const QmParts& parts, int k, int group, const bf16_t* x, int m, void* out, long long ldOut,
    int outF32, int silu, float* partial, float2* sums)
{
    const int KT = 4 * L, E = W >= 4 ? 1 : 4 / W;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int kTiles = k >> 4, kLoads = kTiles >> 2, stages = kTiles / KT, per = stages / W, groups = k / group;
    int groupShift = 31 - __clz(group >> 4);
    int units = silu ? (parts.n[0] + 15) >> 4 : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    int unitTiles = silu ? 2 : 1;
    int u0 = (int)((long long)blockIdx.x * units / gridDim.x), u1 = (int)((long long)(blockIdx.x + 1) * units / gridDim.x);
    int v0 = u0 * unitTiles, total = (u1 - u0) * unitTiles * per;
    const bf16_t* xRow = x + (size_t)(V >= 4 ? min(g, m - 1) : g) * k + 4 * t;

    uint4 q[D][L];
    unsigned int pa[D][GPS], pb[D][GPS];
    I4Cursor fc, cc;   // the fetch cursor runs D - 1 stages ahead of the compute cursor
    i4_seek(fc, parts, v0, warp * per, silu, kLoads, groups, lane);
    cc = fc;
    int fetched = 0;
    auto fetch = [&](uint4* qd, unsigned int* pad, unsigned int* pbd) {
        if (fetched >= total) return;
        quant_stage_fetch<0, GPS, L>(fc.data, fc.params, fc.s, (fc.s * KT) >> groupShift, g, qd, pad, pbd);
        fetched++;
        if (++fc.s == (warp + 1) * per && fetched < total) i4_seek(fc, parts, fc.v + 1, warp * per, silu, kLoads, groups, lane);
    };
#pragma unroll
    for (int b = 0; b < D - 1; b++) fetch(q[b], pa[b], pb[b]);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out may be read by one

    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, gate[E];
    for (int i = 0; i < total; i += D)
    {
#pragma unroll
        for (int b = 0; b < D; b++)
        {
            if (i + b >= total) break;
            fetch(q[(b + D - 1) % D], pa[(b + D - 1) % D], pb[(b + D - 1) % D]);
            uint2 xs[KT];
            if (V >= 4)
            {
                // One pointer a stage and immediate offsets; no predicate (session 11's first try indexed each load from
                // xRow and cost 2-3 address instructions a load).
                const uint2* xStage = (const uint2*)(xRow + (size_t)cc.s * KT * 16);
#pragma unroll
                for (int j = 0; j < KT; j++) xs[j] = __ldg(xStage + 4 * j);
            }
            else
            {
#pragma unroll
                for (int j = 0; j < KT; j++) xs[j] = g < m ? __ldg((const uint2*)(xRow + (cc.s * KT + j) * 16)) : make_uint2(0u, 0u);
            }
            if (V == 5)
            {
                float2* mine = sums + (warp * I4_SUM_FOLDS + (cc.s - warp * per) * GPS) * 4;
                if (cc.v == v0) i4_stage<GPS, L, 7>(q[b], pa[b], pb[b], xs, acc, mine);
                else i4_stage<GPS, L, 5>(q[b], pa[b], pb[b], xs, acc, mine);
            }
            else i4_stage<GPS, L, V>(q[b], pa[b], pb[b], xs, acc);
            if (++cc.s != (warp + 1) * per) continue;
            // The tile's last stage of every warp (per is the same for all): its sums meet in warp order.
#pragma unroll
            for (int r = 0; r < 4; r++) { partial[(warp * 4 + r) * 32 + lane] = acc[r]; acc[r] = 0.0f; }
            __syncthreads();
            // Value e (0-127) of the 16 x 8 tile: thread e, or threads e % 32W with W < 4 (E values each).
#pragma unroll
            for (int r = 0; r < E; r++)
            {
                int e = threadIdx.x + r * 32 * W;
                float sum = 0.0f;
#pragma unroll
                for (int w = 0; w < W; w++) sum += e < 128 ? partial[(w * 4 + (e >> 5)) * 32 + (e & 31)] : 0.0f;
                int row = cc.tile * 16 + ((e & 31) >> 2) + ((e >> 5) >= 2 ? 8 : 0), col = 2 * (e & 3) + ((e >> 5) & 1);
                bool mine = e < 128 && row < parts.n[cc.part] && col < m;
                if (silu && cc.part == 0) gate[r] = sum;
                else if (silu)
                {
                    float gr = bf16_to_f32(f32_to_bf16(gate[r])), ur = bf16_to_f32(f32_to_bf16(sum));
                    if (mine) ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gr / (1.0f + expf(-gr)) * ur);
                }
                else if (mine)
                {
                    size_t o = (size_t)col * ldOut + cc.column + row;
                    if (outF32) ((float*)out)[o] = sum;
                    else ((bf16_t*)out)[o] = f32_to_bf16(sum);
                }
            }
            __syncthreads();   // partial is the next tile's
            if (cc.v + 1 < v0 + (u1 - u0) * unitTiles) i4_seek(cc, parts, cc.v + 1, warp * per, silu, kLoads, groups, lane);
        }
    }
}

// m <= 8; k a multiple of W stages of 4·L k-tiles; groups of 2^i k-tiles, either two to a stage (GPS 2) or holding
// whole stages (GPS 1) (CudaQuantI4's rule on the host). grid: any count from 1 to the launch's units (tiles, or gate
// tiles when silu); d1/p1 the up part when silu.
#define I4_KERNEL_V(NAME, W, L, D, MIN_BLOCKS, V) \
extern "C" __global__ void __launch_bounds__(32 * (W), MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int silu) \
{ \
    __shared__ __align__(16) float partial[(W) * 4 * 32]; \
    __shared__ __align__(16) float2 sums[(V) == 5 ? (W) * I4_SUM_FOLDS * 4 : 1]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if ((group >> 4) * 2 == 4 * (L)) i4_body<W, L, D, 2, V>(parts, k, group, x, m, out, ldOut, outF32, silu, partial, sums); \
    else i4_body<W, L, D, 1, V>(parts, k, group, x, m, out, ldOut, outF32, silu, partial, sums); \
}
#define I4_KERNEL(NAME, W, L, D, MIN_BLOCKS) I4_KERNEL_V(NAME, W, L, D, MIN_BLOCKS, 0)

// Shipped (CudaQuantI4): the lop3 operands (session 10) in W4 L4 D3 at 3 blocks an SM and W4 L4 D2 at 4; session 9's D3
// without them stays for A/B runs (HEARTH_CUDA_I4_V2=0).
I4_KERNEL_V(gemv_g4_i4_w4l4d3, 4, 4, 3, 3, 1)
I4_KERNEL_V(gemv_g4_i4_w4l4d2, 4, 4, 2, 4, 1)
I4_KERNEL(gemv_g4_i4_w4l4d3_s9, 4, 4, 3, 3)
// Session 11 (CudaQuantI4.Session11, HEARTH_CUDA_I4_V3): at D 3 and D 2, x's group sums at half the MMAs (i4h, mode 8,
// the default), the q - z operands with no sums (i4z, mode 4) and session 10's arithmetic (i4x, mode 6), all three with
// the unpredicated x loads. Mode 5 (the sums once a warp, shared by its tiles) lives in tools/gpu/i4_harness.cu only.
I4_KERNEL_V(gemv_g4_i4h_w4l4d3, 4, 4, 3, 3, 8)
I4_KERNEL_V(gemv_g4_i4h_w4l4d2, 4, 4, 2, 4, 8)
I4_KERNEL_V(gemv_g4_i4z_w4l4d3, 4, 4, 3, 3, 4)
I4_KERNEL_V(gemv_g4_i4z_w4l4d2, 4, 4, 2, 4, 4)
I4_KERNEL_V(gemv_g4_i4x_w4l4d3, 4, 4, 3, 3, 6)
I4_KERNEL_V(gemv_g4_i4x_w4l4d2, 4, 4, 2, 4, 6)

