// Stream-K over the resident warps for the int4 decode GEMV (session 10, branch i4b; included by gemv_quant_i4.cu, whose
// i4_operands_lop3 it uses). The per-tile kernels tie a tile to the 4 warps of one block, each a quarter of k, meeting at
// a barrier, so launches of a few hundred tiles load the SMs unevenly (14B q|k|v: 448 tiles on 132 SMs) and many-wave
// launches end in a partial round. Here every warp is on its own: the launch's steps (an output unit, OU: a 16-row
// tile, or a gate|up tile pair with NP = 2, times its S stages, OU-major) are cut into one equal contiguous range a warp
// of the grid, streamed through D register buffers across OU ends with no barrier. A pair's gate and up stages of the
// same k run together and share their x loads and the all-ones MMA (x's group sums). An OU's sum is its per-warp
// segments added in warp order: a warp holding a whole OU writes it at once; the first and last OU of a range, if
// shared, are parked in registers and published once the warp's stream is over (a fence mid-stream would wait for
// the weights in flight), and the last warp of an OU to arrive adds them. The order depends on the grid, so results
// are within f32 rounding of the per-tile kernels, not their bits; a pair's fused SiLU launch (mode 1) and its plain
// launch (mode 2) make the same cut, so the fused launch equals Linear then SiluMul bit for bit.

#ifndef HEARTH_I4_STREAMK_CUH
#define HEARTH_I4_STREAMK_CUH

// One stage of NP parts' tiles (q [NP][L], pa/pb [NP][GPS], acc [NP][4]): i4_stage's arithmetic for each part.
template <int GPS, int L, int NP>
__device__ __forceinline__ void i4sk_stage(const uint4* q, const unsigned int* pa, const unsigned int* pb, const uint2* xs, float* acc)
{
    const int KT = 4 * L, P = KT / GPS;
    const unsigned int one = 0x3F803F80u;
    float gacc[NP][2][4], sx[2][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        sx[0][i] = sx[1][i] = 0.0f;
#pragma unroll
        for (int part = 0; part < NP; part++) gacc[part][0][i] = gacc[part][1][i] = 0.0f;
    }
#pragma unroll
    for (int j = 0; j < KT; j++)
    {
#pragma unroll
        for (int part = 0; part < NP; part++)
        {
            uint4 w = q[part * L + j / 4];
            unsigned int w0 = (j & 3) == 0 ? w.x : (j & 3) == 1 ? w.y : (j & 3) == 2 ? w.z : w.w, a[4];
            i4_operands_lop3(w0, a);
            qm_mma(gacc[part][j & 1], a[0], a[1], a[2], a[3], xs[j].x, xs[j].y);
        }
        qm_mma(sx[j & 1], one, one, one, one, xs[j].x, xs[j].y);
        if ((j + 1) % P != 0) continue;
        int f = j / P;
        float x0 = sx[0][0] + sx[1][0], x1 = sx[0][1] + sx[1][1];
#pragma unroll
        for (int part = 0; part < NP; part++)
        {
            unsigned int ra = pa[part * GPS + f], rb = pb[part * GPS + f];
            float sa = qm_half(ra & 0xffffu), sb = qm_half(rb & 0xffffu);
            float oa = qm_half(ra >> 16) - 128.0f * sa, ob = qm_half(rb >> 16) - 128.0f * sb;
            float* c = acc + part * 4;
            c[0] = fmaf(sa, gacc[part][0][0] + gacc[part][1][0], fmaf(oa, x0, c[0]));
            c[1] = fmaf(sa, gacc[part][0][1] + gacc[part][1][1], fmaf(oa, x1, c[1]));
            c[2] = fmaf(sb, gacc[part][0][2] + gacc[part][1][2], fmaf(ob, x0, c[2]));
            c[3] = fmaf(sb, gacc[part][0][3] + gacc[part][1][3], fmaf(ob, x1, c[3]));
#pragma unroll
            for (int i = 0; i < 4; i++) gacc[part][0][i] = gacc[part][1][i] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) sx[0][i] = sx[1][i] = 0.0f;
    }
}

// The warp whose range holds flat step p (ranges [w·T/NW, (w+1)·T/NW)).
__device__ __forceinline__ int i4sk_owner(int p, int total, int warps)
{
    return (int)(((long long)(p + 1) * warps + total - 1) / total) - 1;
}

// Segments one OU can be cut into at most (CudaQuantI4StreamK.MaxSegments): its slots in the workspace.
__device__ __forceinline__ int i4sk_max_segments(int stagesPerUnit, int total, int warps)
{
    return (stagesPerUnit - 1) / (total / warps) + 2;
}

// OU `ou`'s sums (lane's 4 values a part) are final: mode 0 writes its tile, mode 2 gate at column 0 and up at n0,
// mode 1 silu(gate)·up with both rounded to bf16 first (the unfused Linear then SiluMul).
template <int NP>
__device__ __forceinline__ void i4sk_write(const QmParts& parts, int ou, int mode, const float* sum, int m, void* out, long long ldOut,
    int outF32, int lane)
{
#pragma unroll
    for (int r = 0; r < 4; r++)
    {
        int rowInTile = (lane >> 2) + (r >= 2 ? 8 : 0), col = 2 * (lane & 3) + (r & 1);
        if (col >= m) continue;
        if (NP == 2)
        {
            int row = ou * 16 + rowInTile;
            if (row >= parts.n[0]) continue;
            if (mode == 1)
            {
                float gr = bf16_to_f32(f32_to_bf16(sum[r])), ur = bf16_to_f32(f32_to_bf16(sum[4 + r]));
                ((bf16_t*)out)[(size_t)col * parts.n[0] + row] = f32_to_bf16(gr / (1.0f + expf(-gr)) * ur);
                continue;
            }
#pragma unroll
            for (int part = 0; part < 2; part++)
            {
                size_t o = (size_t)col * ldOut + part * parts.n[0] + row;
                if (outF32) ((float*)out)[o] = sum[part * 4 + r];
                else ((bf16_t*)out)[o] = f32_to_bf16(sum[part * 4 + r]);
            }
            continue;
        }
        int tile = ou, part, column;
        qm_find_part(parts, tile, part, column);
        int row = tile * 16 + rowInTile;
        if (row >= parts.n[part]) continue;
        size_t o = (size_t)col * ldOut + column + row;
        if (outF32) ((float*)out)[o] = sum[r];
        else ((bf16_t*)out)[o] = f32_to_bf16(sum[r]);
    }
}

// Warp wg's segment `seg` of OU `ou` (stored by every lane before the caller's fence): counts it in, and if it is the
// OU's last to arrive, adds all of them in warp order and writes the OU.
template <int NP>
__device__ __forceinline__ void i4sk_arrive(const QmParts& parts, int ou, int stagesPerUnit, int total, int warps, int maxSegments, int mode,
    int m, void* out, long long ldOut, int outF32, const float* work, int* counters, int lane)
{
    int first = i4sk_owner(ou * stagesPerUnit, total, warps);
    int segments = i4sk_owner(ou * stagesPerUnit + stagesPerUnit - 1, total, warps) - first + 1;
    int before = 0;
    if (lane == 0) before = atomicAdd(counters + ou, 1);
    if (__shfl_sync(0xffffffffu, before, 0) != segments - 1) return;
    __threadfence();
    float sum[NP * 4];
    const float* all = work + (size_t)ou * maxSegments * NP * 128 + lane;
#pragma unroll
    for (int i = 0; i < NP * 4; i++)
    {
        sum[i] = 0.0f;
        for (int j = 0; j < segments; j++) sum[i] += __ldcg(all + (j * NP + (i >> 2)) * 128 + (i & 3) * 32);
    }
    if (lane == 0) counters[ou] = 0;
    i4sk_write<NP>(parts, ou, mode, sum, m, out, ldOut, outF32, lane);
}

// work: f32 [OUs, max segments, NP, 128]; counters: int [OUs], zero before and after every launch.
template <int L, int D, int GPS, int NP>
__device__ __forceinline__ void i4sk_body(const QmParts& parts, int k, int group, const bf16_t* x, int m, void* out, long long ldOut,
    int outF32, int mode, float* work, int* counters)
{
    const int KT = 4 * L;
    int lane = threadIdx.x & 31, g = lane >> 2, warpsPerBlock = blockDim.x >> 5;
    int warps = gridDim.x * warpsPerBlock, wg = blockIdx.x * warpsPerBlock + (threadIdx.x >> 5);
    int kTiles = k >> 4, kLoads = kTiles >> 2, stagesPerUnit = kTiles / KT, groups = k / group, groupShift = 31 - __clz(group >> 4);
    int units = NP == 2 ? (parts.n[0] + 15) >> 4 : ((parts.n[0] + 15) >> 4) + ((parts.n[1] + 15) >> 4) + ((parts.n[2] + 15) >> 4);
    int total = units * stagesPerUnit, maxSegments = i4sk_max_segments(stagesPerUnit, total, warps);
    int p0 = (int)((long long)wg * total / warps), p1 = (int)((long long)(wg + 1) * total / warps), count = p1 - p0;
    const bf16_t* xRow = x + (size_t)g * k + 4 * (lane & 3);

    uint4 q[D][NP * L];
    unsigned int pa[D][NP * GPS], pb[D][NP * GPS];
    int fp = p0, fs = 0;   // the fetch cursor (flat step, stage in its OU) runs D - 1 steps ahead of the compute
    const uint4* fdata[NP];
    const unsigned char* fparams[NP];
    auto seek = [&](int p) {
        int ou = p / stagesPerUnit;
        fs = p - ou * stagesPerUnit;
        if (NP == 2)
        {
#pragma unroll
            for (int part = 0; part < NP; part++)
            {
                fdata[part] = parts.data[part] + (size_t)ou * kLoads * 32 + lane;
                fparams[part] = (const unsigned char*)parts.params[part] + (size_t)ou * groups * 64;
            }
            return;
        }
        int tile = ou, part, column;
        qm_find_part(parts, tile, part, column);
        fdata[0] = parts.data[part] + (size_t)tile * kLoads * 32 + lane;
        fparams[0] = (const unsigned char*)parts.params[part] + (size_t)tile * groups * 64;
    };
    if (count > 0) seek(p0);
    auto fetch = [&](uint4* qd, unsigned int* pad, unsigned int* pbd) {
        if (fp >= p1) return;
#pragma unroll
        for (int part = 0; part < NP; part++)
            quant_stage_fetch<0, GPS, L>(fdata[part], fparams[part], fs, (fs * KT) >> groupShift, g, qd + part * L, pad + part * GPS, pbd + part * GPS);
        fp++;
        if (++fs == stagesPerUnit && fp < p1) seek(fp);
    };
#pragma unroll
    for (int b = 0; b < D - 1; b++) fetch(q[b], pa[b], pb[b]);
    HEARTH_PDL_WAIT();   // x is an earlier kernel's output; out, work and counters are shared with other launches

    float acc[NP * 4], head[NP * 4], tail[NP * 4];
#pragma unroll
    for (int i = 0; i < NP * 4; i++) acc[i] = head[i] = tail[i] = 0.0f;
    int headUnit = -1, tailUnit = -1;
    int cu = count > 0 ? p0 / stagesPerUnit : 0, cs = p0 - cu * stagesPerUnit;
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
            i4sk_stage<GPS, L, NP>(q[b], pa[b], pb[b], xs, acc);
            bool unitEnd = ++cs == stagesPerUnit;
            if (!unitEnd && i + b + 1 != count) continue;
            bool startsHere = cu * stagesPerUnit >= p0;
            if (unitEnd && startsHere)
            {
                float sum[NP * 4];
#pragma unroll
                for (int r = 0; r < NP * 4; r++) sum[r] = 0.0f + acc[r];
                i4sk_write<NP>(parts, cu, mode, sum, m, out, ldOut, outF32, lane);
            }
            else if (!startsHere)
            {
                headUnit = cu;
#pragma unroll
                for (int r = 0; r < NP * 4; r++) head[r] = acc[r];
            }
            else
            {
                tailUnit = cu;
#pragma unroll
                for (int r = 0; r < NP * 4; r++) tail[r] = acc[r];
            }
#pragma unroll
            for (int r = 0; r < NP * 4; r++) acc[r] = 0.0f;
            cu++;
            cs = 0;
        }
    }
    if (headUnit < 0 && tailUnit < 0) return;
    // Shared OUs: publish the parked segments, one fence for both, then count them in.
#pragma unroll
    for (int h = 0; h < 2; h++)
    {
        int ou = h == 0 ? headUnit : tailUnit;
        if (ou < 0) continue;
        float* mine = work + ((size_t)ou * maxSegments + (wg - i4sk_owner(ou * stagesPerUnit, total, warps))) * NP * 128 + lane;
#pragma unroll
        for (int r = 0; r < NP * 4; r++) __stcg(mine + (r >> 2) * 128 + (r & 3) * 32, h == 0 ? head[r] : tail[r]);
    }
    __threadfence();
    __syncwarp();
    if (headUnit >= 0) i4sk_arrive<NP>(parts, headUnit, stagesPerUnit, total, warps, maxSegments, mode, m, out, ldOut, outF32, work, counters, lane);
    if (tailUnit >= 0) i4sk_arrive<NP>(parts, tailUnit, stagesPerUnit, total, warps, maxSegments, mode, m, out, ldOut, outF32, work, counters, lane);
}

// m <= 8; plain launches (mode 0) stream L1 loads a lane a stage through D1 buffers, gate|up pairs (modes 1, 2) L2 loads a
// part through D2; k a multiple of both stages; groups of two a plain stage, or of whole stages; grid: at most one
// block for 4 steps, the same for a pair's two modes (CudaQuantI4StreamK).
#define I4SK_KERNEL(NAME, L1, D1, L2, D2, MIN_BLOCKS) \
extern "C" __global__ void __launch_bounds__(128, MIN_BLOCKS) NAME(const uint4* d0, const void* p0, int n0, \
    const uint4* d1, const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, const bf16_t* x, int m, \
    void* out, long long ldOut, int outF32, int mode, float* work, int* counters) \
{ \
    HEARTH_PDL_LAUNCH(); \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if (mode != 0) \
    { \
        if ((group >> 4) * 2 == 4 * (L2)) i4sk_body<L2, D2, 2, 2>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
        else i4sk_body<L2, D2, 1, 2>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
    } \
    else if ((group >> 4) * 2 == 4 * (L1)) i4sk_body<L1, D1, 2, 1>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
    else i4sk_body<L1, D1, 1, 1>(parts, k, group, x, m, out, ldOut, outF32, mode, work, counters); \
}

#endif  // HEARTH_I4_STREAMK_CUH
