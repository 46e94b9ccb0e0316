// Batch 1-16 products with quantized weights on tensor cores (1-8 rows: gemv_*_stream in gemv_quant_stream.cu; 9-16
// rows: gemv_g4/g8/f8, here): y[m, ldOut] (column slice) = x[m, k] * W[n, k]^T,
// bf16 x, F32 accumulation. Decode streams W once, so what matters is bytes in flight and few instructions per
// weight: W is stored (at upload, CudaQuantTiles.cs) in the register order of mma.sync.m16n8k16's A operand, so a
// lane's one 16-byte load holds its A fragments for 4 (g4) or 2 (g8, f8) k-tiles of 16, and a nibble becomes a
// bf16 operand with one shift and one lop3 (the "magic number": 0x4300 | q is the bf16 value 128 + q). The batch
// is the MMA's N (8 columns; 16 rows take two). Scales never touch the weights: per group the MMA sums
// (128 + q)·x exactly in F32, a second MMA with an all-ones A sums x, and w = q·s + o folds in as
// s·Σ(128+q)x + (o − 128 s)·Σx. Block = one 16-row tile, its 8 warps split k (thin k/v parts still fill the GPU),
// partial sums meet in shared memory. Layouts, per 16-row tile (rows padded to 16 with zeros), per load l, lane
// L = 4g + t (g = L / 4 picks rows g and g + 8; t picks k offsets 4t..4t+3 of every 16-wide k-tile):
//   g4: 4 bytes a k-tile: one word w, bits 4i..4i+3 | 16+4i..16+4i+3 = A register i (i = 0: row g, k 4t, 4t+1;
//       1: row g+8, same k; 2: row g, k 4t+2, 4t+3; 3: row g+8, k 4t+2, 4t+3). AWQ/GPTQ, Q4_0, Q4_K.
//       Params half2 (scale, offset) [tile][group][16 rows]: w = q·scale + offset.
//   g8: 8 bytes a k-tile: the low nibbles of u = q + 128 as a g4 word, then the high nibbles. Q8_0, Q5_K, Q6_K.
//       The high nibbles enter as 0x4500 | h = 2048 + 16h, so the two MMAs share one accumulator.
//   f8: 8 bytes a k-tile: e4m3 bytes (row g: k 4t, 4t+1; row g+8: same; row g: 4t+2, 4t+3; row g+8: same);
//       F32 block scales [ceil(n / blockRows)][ceil(k / group)] as the checkpoint has them.

#define QM_WARPS 8

// Main loop, in batches of QM_LOADS 16-byte loads per lane (KB k-tiles): the next batch's weights are loaded while
// this one is multiplied, and this batch's x and params are loaded at its start, so no MMA waits on a load of its
// own. Even and odd k-tiles accumulate into separate registers so consecutive MMAs do not wait on each other.
// Folds happen every P k-tiles (P divides the group's k-tiles and KB; batches start at multiples of KB, so where
// they happen is known at compile time) and at the last k-tile.
#define QM_LOADS 4

template <int FMT, int NT, int P>
__device__ __forceinline__ void qm_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    void* out, long long ldOut, int outF32)
{
    __shared__ float partial[QM_WARPS][NT * 4][32];
    const int TPL = FMT == 0 ? 4 : 2, KB = QM_LOADS * TPL, FOLDS = KB / P;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int tile = blockIdx.x, part, column;
    qm_find_part(parts, tile, part, column);
    int kTiles = k >> 4, loads = kTiles / TPL, batches = (kTiles + KB - 1) / KB, groups = k / group, tilesPerGroup = group >> 4;
    const uint4* data = parts.data[part] + (size_t)tile * loads * 32 + lane;
    const void* params = parts.params[part];
    int b0 = warp * batches / QM_WARPS, b1 = (warp + 1) * batches / QM_WARPS;

    float acc[NT][4], gacc[2][NT][4], sx[2][NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++) { acc[nt][i] = 0.0f; gacc[0][nt][i] = gacc[1][nt][i] = 0.0f; sx[0][nt][i] = sx[1][nt][i] = 0.0f; }

    uint4 cur[QM_LOADS], next[QM_LOADS];
#pragma unroll
    for (int u = 0; u < QM_LOADS; u++)
    {
        int l = b0 * QM_LOADS + u;
        cur[u] = b0 < b1 && l < loads ? load_streaming(data + (size_t)l * 32) : make_uint4(0u, 0u, 0u, 0u);
    }
    for (int b = b0; b < b1; b++)
    {
#pragma unroll
        for (int u = 0; u < QM_LOADS; u++)
        {
            int l = (b + 1) * QM_LOADS + u;
            next[u] = b + 1 < b1 && l < loads ? load_streaming(data + (size_t)l * 32) : make_uint4(0u, 0u, 0u, 0u);
        }
        int kt0 = b * KB;
        uint2 xs[NT][KB];
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
        {
            int row = nt * 8 + g;
#pragma unroll
            for (int j = 0; j < KB; j++)
                xs[nt][j] = row < m && kt0 + j < kTiles ? __ldg((const uint2*)(x + (size_t)row * k + (kt0 + j) * 16 + 4 * t)) : make_uint2(0u, 0u);
        }
        // Params of each fold: g4/g8 the half2 of rows g and g + 8; f8 the tile's block scale.
        unsigned int pa[FOLDS], pb[FOLDS];
#pragma unroll
        for (int f = 0; f < FOLDS; f++)
        {
            int kt = kt0 + f * P, grp = kt / tilesPerGroup;
            pa[f] = pb[f] = 0u;
            if (kt >= kTiles) continue;
            if (FMT == 2) pa[f] = __float_as_uint(__ldg((const float*)params + (size_t)(tile * 16 / blockRows) * scaleCols + grp));
            else
            {
                const unsigned int* p = (const unsigned int*)params + ((size_t)tile * groups + grp) * 16;
                pa[f] = __ldg(p + g);
                pb[f] = __ldg(p + g + 8);
            }
        }
#pragma unroll
        for (int j = 0; j < KB; j++)
        {
            int kt = kt0 + j;
            if (kt >= kTiles) continue;   // only in the last batch of a k not a multiple of KB k-tiles
            uint4 q = cur[j / TPL];
            unsigned int w0, w1 = 0u;
            if (FMT == 0) w0 = (j % 4 == 0) ? q.x : (j % 4 == 1) ? q.y : (j % 4 == 2) ? q.z : q.w;
            else { w0 = (j % 2 == 0) ? q.x : q.z; w1 = (j % 2 == 0) ? q.y : q.w; }
            unsigned int a[4], h[4];
            qm_operands<FMT>(w0, w1, a, h);
            const unsigned int one = 0x3F803F80u;
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
            {
                qm_mma(gacc[j & 1][nt], a[0], a[1], a[2], a[3], xs[nt][j].x, xs[nt][j].y);
                if (FMT == 1) qm_mma(gacc[j & 1][nt], h[0], h[1], h[2], h[3], xs[nt][j].x, xs[nt][j].y);
                if (FMT != 2) qm_mma(sx[j & 1][nt], one, one, one, one, xs[nt][j].x, xs[nt][j].y);
            }
            if ((j + 1) % P == 0 || kt + 1 == kTiles)
            {
                int f = j / P;
                if (FMT == 2)
                {
                    float s = __uint_as_float(pa[f]);
#pragma unroll
                    for (int nt = 0; nt < NT; nt++)
#pragma unroll
                        for (int i = 0; i < 4; i++)
                        {
                            acc[nt][i] = fmaf(s, gacc[0][nt][i] + gacc[1][nt][i], acc[nt][i]);
                            gacc[0][nt][i] = gacc[1][nt][i] = 0.0f;
                        }
                }
                else
                {
                    // The constant the magic numbers added to every q: 128 (g4), 2048 + 128 + 128 (g8, u = q + 128).
                    const float bias = FMT == 0 ? 128.0f : 2304.0f;
                    float sa = qm_half(pa[f] & 0xffffu), sb = qm_half(pb[f] & 0xffffu);
                    float oa = qm_half(pa[f] >> 16) - bias * sa, ob = qm_half(pb[f] >> 16) - bias * sb;
#pragma unroll
                    for (int nt = 0; nt < NT; nt++)
                    {
                        float s0 = sx[0][nt][0] + sx[1][nt][0], s1 = sx[0][nt][1] + sx[1][nt][1];
                        acc[nt][0] = fmaf(sa, gacc[0][nt][0] + gacc[1][nt][0], fmaf(oa, s0, acc[nt][0]));
                        acc[nt][1] = fmaf(sa, gacc[0][nt][1] + gacc[1][nt][1], fmaf(oa, s1, acc[nt][1]));
                        acc[nt][2] = fmaf(sb, gacc[0][nt][2] + gacc[1][nt][2], fmaf(ob, s0, acc[nt][2]));
                        acc[nt][3] = fmaf(sb, gacc[0][nt][3] + gacc[1][nt][3], fmaf(ob, s1, acc[nt][3]));
#pragma unroll
                        for (int i = 0; i < 4; i++) gacc[0][nt][i] = gacc[1][nt][i] = sx[0][nt][i] = sx[1][nt][i] = 0.0f;
                    }
                }
            }
        }
#pragma unroll
        for (int u = 0; u < QM_LOADS; u++) cur[u] = next[u];
    }

#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++) partial[warp][nt * 4 + i][lane] = acc[nt][i];
    __syncthreads();
    for (int idx = threadIdx.x; idx < NT * 4 * 32; idx += blockDim.x)
    {
        int slot = idx >> 5, l = idx & 31, nt = slot >> 2, i = slot & 3;
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < QM_WARPS; w++) sum += partial[w][slot][l];
        int row = tile * 16 + (l >> 2) + (i >= 2 ? 8 : 0), col = nt * 8 + 2 * (l & 3) + (i & 1);
        if (row >= parts.n[part] || col >= m) continue;
        size_t o = (size_t)col * ldOut + column + row;
        if (outF32) ((float*)out)[o] = sum;
        else ((bf16_t*)out)[o] = f32_to_bf16(sum);
    }
}

// P = the fold period: the largest of 8, 4, 2, 1 k-tiles that divides the group's k-tiles.
template <int FMT, int NT>
__device__ __forceinline__ void qm_dispatch(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    void* out, long long ldOut, int outF32)
{
    int tilesPerGroup = group >> 4;
    if (tilesPerGroup % 8 == 0) qm_body<FMT, NT, 8>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32);
    else if (tilesPerGroup % 4 == 0) qm_body<FMT, NT, 4>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32);
    else if (tilesPerGroup % 2 == 0) qm_body<FMT, NT, 2>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32);
    else qm_body<FMT, NT, 1>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32);
}

// Up to three parts of one layout and group size (q|k|v, gate|up) in one launch; grid = the parts' 16-row tiles.
#define QM_KERNEL(NAME, FMT) \
extern "C" __global__ void __launch_bounds__(32 * QM_WARPS, 2) NAME(const uint4* d0, const void* p0, int n0, const uint4* d1, \
    const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, int blockRows, int scaleCols, \
    const bf16_t* x, int m, void* out, long long ldOut, int outF32) \
{ \
    QmParts parts = qm_make_parts(d0, p0, n0, d1, p1, n1, d2, p2, n2); \
    if (m <= 8) qm_dispatch<FMT, 1>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else qm_dispatch<FMT, 2>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
}

QM_KERNEL(gemv_g4, 0)
QM_KERNEL(gemv_g8, 1)
QM_KERNEL(gemv_f8, 2)
