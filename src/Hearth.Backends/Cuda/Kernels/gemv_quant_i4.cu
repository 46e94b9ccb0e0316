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

// One stage (KT = 4 L k-tiles) of MMAs, folded into acc every P = KT / GPS k-tiles with the groups' params.
template <int GPS, int L>
__device__ __forceinline__ void i4_stage(const uint4* q, const unsigned int* pa, const unsigned int* pb, const uint2* xs, float* acc)
{
    const int KT = 4 * L, P = KT / GPS;
    const unsigned int one = 0x3F803F80u;
    float gacc[2][4], sx[2][4];
#pragma unroll
    for (int i = 0; i < 4; i++) gacc[0][i] = gacc[1][i] = sx[0][i] = sx[1][i] = 0.0f;
#pragma unroll
    for (int j = 0; j < KT; j++)
    {
        uint4 w = q[j / 4];
        unsigned int w0 = (j & 3) == 0 ? w.x : (j & 3) == 1 ? w.y : (j & 3) == 2 ? w.z : w.w, a[4], h[4];
        qm_operands<0>(w0, 0u, a, h);
        qm_mma(gacc[j & 1], a[0], a[1], a[2], a[3], xs[j].x, xs[j].y);
        qm_mma(sx[j & 1], one, one, one, one, xs[j].x, xs[j].y);
        if ((j + 1) % P != 0) continue;
        int f = j / P;
        // 128: the constant the magic number added to every nibble (qm_operands).
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
template <int W, int L, int D, int GPS>
__device__ __forceinline__ void i4_body(const QmParts& parts, int k, int group, const bf16_t* x, int m, void* out, long long ldOut,
    int outF32, int silu, float* partial)
{
    const int KT = 4 * L, E = W >= 4 ? 1 : 4 / W;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int kTiles = k >> 4, kLoads = kTiles >> 2, stages = kTiles / KT, per = stages / W, groups = k / group;
    int groupShift = 31 - __clz(group >> 4);
    int units = silu ? (parts.n[0] + 15) >> 4 : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    int unitTiles = silu ? 2 : 1;
    int u0 = (int)((long long)blockIdx.x * units / gridDim.x), u1 = (int)((long long)(blockIdx.x + 1) * units / gridDim.x);
    int v0 = u0 * unitTiles, total = (u1 - u0) * unitTiles * per;
    const bf16_t* xRow = x + (size_t)g * k + 4 * t;

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
#pragma unroll
            for (int j = 0; j < KT; j++) xs[j] = g < m ? __ldg((const uint2*)(xRow + (cc.s * KT + j) * 16)) : make_uint2(0u, 0u);
            i4_stage<GPS, L>(q[b], pa[b], pb[b], xs, acc);
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
#define I4_KERNEL(NAME, W, L, D, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(32 * (W), MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int silu) \
{ \
    __shared__ __align__(16) float partial[(W) * 4 * 32]; \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if ((group >> 4) * 2 == 4 * (L)) i4_body<W, L, D, 2>(parts, k, group, x, m, out, ldOut, outF32, silu, partial); \
    else i4_body<W, L, D, 1>(parts, k, group, x, m, out, ldOut, outF32, silu, partial); \
}

I4_KERNEL(gemv_g4_i4_w4l4d3, 4, 4, 3, 3)

// ---- Stream-K over the resident warps (session 10, branch i4b)
// Session 9's per-tile arithmetic ties a tile to 4 warps of one block, each a quarter of k, meeting at a barrier: at
// 14B gate|up (1,088 gate|up pairs on 396-528 block slots) the last round leaves a part of the GPU idle, and q|k|v
// (448 tiles) loads the SMs with 3 or 4 tiles each. Here every warp is on its own: the launch's stages (V virtual tiles
// of S stages, T = V·S in all, tile-major) are cut into NW = warps-in-grid equal contiguous ranges, so every warp
// streams the same bytes through its D register buffers, across tile ends, with no barrier. A tile's sum is its
// segments' sums (one a warp that touched it) added in warp order; a warp that holds a whole tile writes it at once,
// otherwise each writes its segment to `work` and the last to arrive (a counter a tile) adds them. The order depends
// on NW (the grid), so results are within f32 rounding of the per-tile kernels, not their bits; the fused gate|up +
// SiLU (mode 1) and the plain gate|up pair (mode 2) cut the same interleaved stages the same way, so they give the
// same tile sums and the fused launch equals Linear then SiluMul bit for bit at one grid.

// The warp whose range holds flat stage p (ranges [w·T/NW, (w+1)·T/NW)).
__device__ __forceinline__ int i4sk_owner(int p, int total, int warps)
{
    return (int)(((long long)(p + 1) * warps + total - 1) / total) - 1;
}

// Virtual tile v: mode 0 numbers the parts' tiles in order; modes 1 and 2 interleave gate (part 0) and up (part 1),
// v = 2 · tile + part, mode 2 writing up's columns after gate's.
__device__ __forceinline__ void i4sk_locate(const QmParts& parts, int v, int mode, int& part, int& tile, int& column)
{
    if (mode != 0) { part = v & 1; tile = v >> 1; column = part * parts.n[0]; return; }
    tile = v;
    qm_find_part(parts, tile, part, column);
}

// Segments of a launch at most one tile can have (the host sizes `work` with the same rule: CudaQuantI4StreamK).
__device__ __forceinline__ int i4sk_max_segments(int stagesPerTile, int total, int warps)
{
    return (stagesPerTile - 1) / (total / warps) + 2;
}

// Lane `lane`'s 4 values of tile v's sum are final: write them (modes 0, 2), or for mode 1 park them until the pair's
// other tile is final too, and let the second of the two write silu(gate)·up as the unfused Linear + SiluMul would.
__device__ __forceinline__ void i4sk_finish(const QmParts& parts, int v, int mode, const float* total, int m, void* out, long long ldOut,
    int outF32, float* sums, int* pairCounters, int lane)
{
    if (mode == 1)
    {
#pragma unroll
        for (int r = 0; r < 4; r++) __stcg(sums + (size_t)v * 128 + r * 32 + lane, total[r]);
        __threadfence();
        __syncwarp();
        int before = 0;
        if (lane == 0) before = atomicAdd(pairCounters + (v >> 1), 1);
        if (__shfl_sync(0xffffffffu, before, 0) != 1) return;
        __threadfence();
        int pair = v >> 1;
#pragma unroll
        for (int r = 0; r < 4; r++)
        {
            float gate = __ldcg(sums + (size_t)(2 * pair) * 128 + r * 32 + lane), up = __ldcg(sums + (size_t)(2 * pair + 1) * 128 + r * 32 + lane);
            int row = pair * 16 + (lane >> 2) + (r >= 2 ? 8 : 0), col = 2 * (lane & 3) + (r & 1);
            float gr = bf16_to_f32(f32_to_bf16(gate)), ur = bf16_to_f32(f32_to_bf16(up));
            if (row < parts.n[0] && col < m) ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gr / (1.0f + expf(-gr)) * ur);
        }
        if (lane == 0) pairCounters[pair] = 0;
        return;
    }
    int part, tile, column;
    i4sk_locate(parts, v, mode, part, tile, column);
#pragma unroll
    for (int r = 0; r < 4; r++)
    {
        int row = tile * 16 + (lane >> 2) + (r >= 2 ? 8 : 0), col = 2 * (lane & 3) + (r & 1);
        if (row >= parts.n[part] || col >= m) continue;
        size_t o = (size_t)col * ldOut + column + row;
        if (outF32) ((float*)out)[o] = total[r];
        else ((bf16_t*)out)[o] = f32_to_bf16(total[r]);
    }
}

// Warp wg's segment of tile v (its acc) is done: add the tile up if the warp holds all of it, else publish the segment
// and let the tile's last warp add all of them in warp order.
__device__ __forceinline__ void i4sk_emit(const QmParts& parts, int v, int mode, const float* acc, int stagesPerTile, int total, int warps,
    int wg, int maxSegments, int m, void* out, long long ldOut, int outF32, float* work, int* counters, int lane)
{
    int first = i4sk_owner(v * stagesPerTile, total, warps), segments = i4sk_owner(v * stagesPerTile + stagesPerTile - 1, total, warps) - first + 1;
    int tiles = mode != 0 ? 2 * ((parts.n[0] + 15) >> 4) : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    float* sums = work + (size_t)tiles * maxSegments * 128;
    float sum[4];
    if (segments == 1)
    {
#pragma unroll
        for (int r = 0; r < 4; r++) sum[r] = 0.0f + acc[r];
    }
    else
    {
        float* mine = work + ((size_t)v * maxSegments + (wg - first)) * 128;
#pragma unroll
        for (int r = 0; r < 4; r++) __stcg(mine + r * 32 + lane, acc[r]);
        __threadfence();
        __syncwarp();
        int before = 0;
        if (lane == 0) before = atomicAdd(counters + v, 1);
        if (__shfl_sync(0xffffffffu, before, 0) != segments - 1) return;
        __threadfence();
        const float* all = work + (size_t)v * maxSegments * 128 + lane;
#pragma unroll
        for (int r = 0; r < 4; r++)
        {
            sum[r] = 0.0f;
            for (int j = 0; j < segments; j++) sum[r] += __ldcg(all + j * 128 + r * 32);
        }
        if (lane == 0) counters[v] = 0;
    }
    i4sk_finish(parts, v, mode, sum, m, out, ldOut, outF32, sums, counters + tiles, lane);
}

// Warp wg of NW streams flat stages [wg·T/NW, (wg+1)·T/NW) through D buffers of L loads a lane. work: f32 [V, max
// segments, 128] segments, then [V, 128] tile sums (mode 1); counters: int [V] then [V / 2] pairs, zero before and after.
template <int L, int D, int GPS>
__device__ __forceinline__ void i4sk_body(const QmParts& parts, int k, int group, const bf16_t* x, int m, void* out, long long ldOut,
    int outF32, int mode, float* work, int* counters)
{
    const int KT = 4 * L;
    int lane = threadIdx.x & 31, g = lane >> 2, warpsPerBlock = blockDim.x >> 5;
    int warps = gridDim.x * warpsPerBlock, wg = blockIdx.x * warpsPerBlock + (threadIdx.x >> 5);
    int kTiles = k >> 4, kLoads = kTiles >> 2, stagesPerTile = kTiles / KT, groups = k / group, groupShift = 31 - __clz(group >> 4);
    int tiles = mode != 0 ? 2 * ((parts.n[0] + 15) >> 4) : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    int total = tiles * stagesPerTile, maxSegments = i4sk_max_segments(stagesPerTile, total, warps);
    int p0 = (int)((long long)wg * total / warps), p1 = (int)((long long)(wg + 1) * total / warps), count = p1 - p0;
    const bf16_t* xRow = x + (size_t)g * k + 4 * (lane & 3);

    uint4 q[D][L];
    unsigned int pa[D][GPS], pb[D][GPS];
    int fp = p0, fs = 0;   // the fetch cursor (flat stage, stage in its tile) runs D - 1 stages ahead of the compute
    const uint4* fdata = nullptr;
    const unsigned char* fparams = nullptr;
    auto seek = [&](int p) {
        int v = p / stagesPerTile, part, tile, column;
        fs = p - v * stagesPerTile;
        i4sk_locate(parts, v, mode, part, tile, column);
        fdata = parts.data[part] + (size_t)tile * kLoads * 32 + lane;
        fparams = (const unsigned char*)parts.params[part] + (size_t)tile * groups * 64;
    };
    if (count > 0) seek(p0);
    auto fetch = [&](uint4* qd, unsigned int* pad, unsigned int* pbd) {
        if (fp >= p1) return;
        quant_stage_fetch<0, GPS, L>(fdata, fparams, fs, (fs * KT) >> groupShift, g, qd, pad, pbd);
        fp++;
        if (++fs == stagesPerTile && fp < p1) seek(fp);
    };
#pragma unroll
    for (int b = 0; b < D - 1; b++) fetch(q[b], pa[b], pb[b]);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output, and out, work and counters are shared with other launches

    float acc[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int cv = count > 0 ? p0 / stagesPerTile : 0, cs = p0 - cv * stagesPerTile;
    for (int i = 0; i < count; i += D)
    {
#pragma unroll
        for (int b = 0; b < D; b++)
        {
            if (i + b >= count) break;
            fetch(q[(b + D - 1) % D], pa[(b + D - 1) % D], pb[(b + D - 1) % D]);
            uint2 xs[KT];
#pragma unroll
            for (int j = 0; j < KT; j++) xs[j] = g < m ? __ldg((const uint2*)(xRow + (cs * KT + j) * 16)) : make_uint2(0u, 0u);
            i4_stage<GPS, L>(q[b], pa[b], pb[b], xs, acc);
            if (++cs != stagesPerTile && i + b + 1 != count) continue;
            i4sk_emit(parts, cv, mode, acc, stagesPerTile, total, warps, wg, maxSegments, m, out, ldOut, outF32, work, counters, lane);
#pragma unroll
            for (int r = 0; r < 4; r++) acc[r] = 0.0f;
            cv++;
            cs = 0;
        }
    }
}

// m <= 8; k a multiple of 4·L k-tiles; groups as I4_KERNEL's; grid: at most T / warps-a-block blocks, and the same grid
// for a gate|up pair's mode 1 and mode 2 launches (CudaQuantI4StreamK).
#define I4SK_KERNEL(NAME, L, D, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(128, MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int mode, float* work, int* counters) \
{ \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if ((group >> 4) * 2 == 4 * (L)) i4sk_body<L, D, 2>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
    else i4sk_body<L, D, 1>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
}

I4SK_KERNEL(gemv_g4_i4sk_l4d3, 4, 3, 3)
I4SK_KERNEL(gemv_g4_i4sk_l4d2, 4, 2, 4)
