// Batch 1-16 products with quantized weights on tensor cores: y[m, ldOut] (column slice) = x[m, k] * W[n, k]^T,
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
#define QM_UNROLL 8

__device__ __forceinline__ uint4 qm_load_stream(const uint4* p)
{
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ float qm_half(unsigned int bits)
{
    float f;
    unsigned short h = (unsigned short)bits;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ void qm_mma(float* c, unsigned int a0, unsigned int a1, unsigned int a2, unsigned int a3, unsigned int b0, unsigned int b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Two e4m3 bytes (byte lo, byte lo + 1 of w) -> bf16x2 of the exact values: the bits go where bf16 keeps them
// (giving value · 2^-120, an exact bf16 even for e4m3 subnormals), then one bf16x2 FMA by 2^120 re-biases.
__device__ __forceinline__ unsigned int qm_e4m3x2(unsigned int w, unsigned int selector)
{
    unsigned int t, r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(t) : "r"(w), "r"(0u), "r"(selector));
    unsigned int bits = ((t & 0x007F007Fu) << 4) | ((t & 0x00800080u) << 8);
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(bits), "r"(0x7B807B80u), "r"(0x80008000u));
    return r;
}

struct QmParts
{
    const uint4* data[3];
    const void* params[3];
    int n[3];
};

// One k-tile: A from the tile's bytes (made once for every batch column tile), B from x (rows nt*8 + g, k
// kb + 4t..4t+3), MMAs into gacc (and sx).
template <int FMT, int NT>
__device__ __forceinline__ void qm_ktile(unsigned int w0, unsigned int w1, const bf16_t* x, int m, int k, int kb, int g, int t,
    float (*gacc)[4], float (*sx)[4])
{
    const unsigned int mask = 0x000F000Fu, magic = 0x43004300u, magicHigh = 0x45004500u, one = 0x3F803F80u;
    unsigned int a[4], h[4];
    if (FMT == 2)
    {
        a[0] = qm_e4m3x2(w0, 0x4140u); a[1] = qm_e4m3x2(w0, 0x4342u);
        a[2] = qm_e4m3x2(w1, 0x4140u); a[3] = qm_e4m3x2(w1, 0x4342u);
    }
    else
    {
#pragma unroll
        for (int i = 0; i < 4; i++)
        {
            a[i] = ((w0 >> (4 * i)) & mask) | magic;
            h[i] = FMT == 1 ? ((w1 >> (4 * i)) & mask) | magicHigh : 0u;
        }
    }
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
    {
        int row = nt * 8 + g;
        uint2 b = make_uint2(0u, 0u);
        if (row < m) b = __ldg((const uint2*)(x + (size_t)row * k + kb + 4 * t));
        qm_mma(gacc[nt], a[0], a[1], a[2], a[3], b.x, b.y);
        if (FMT == 1) qm_mma(gacc[nt], h[0], h[1], h[2], h[3], b.x, b.y);
        if (FMT != 2) qm_mma(sx[nt], one, one, one, one, b.x, b.y);
    }
}

// Folds the group's sums into acc and clears them. Rows g and g + 8 of the tile have their own params.
template <int FMT, int NT>
__device__ __forceinline__ void qm_fold(const void* params, int tileInPart, int grp, int groups, int g, int blockRows, int scaleCols,
    float (*acc)[4], float (*gacc)[4], float (*sx)[4])
{
    if (FMT == 2)
    {
        float s = __ldg((const float*)params + (size_t)(tileInPart * 16 / blockRows) * scaleCols + grp);
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int i = 0; i < 4; i++) { acc[nt][i] = fmaf(s, gacc[nt][i], acc[nt][i]); gacc[nt][i] = 0.0f; }
        return;
    }
    const unsigned int* p = (const unsigned int*)params + ((size_t)tileInPart * groups + grp) * 16;
    unsigned int pa = __ldg(p + g), pb = __ldg(p + g + 8);
    // The constant the magic numbers added to every q: 128 (g4), 2048 + 128 + 128 (g8, whose u is q + 128).
    const float bias = FMT == 0 ? 128.0f : 2304.0f;
    float sa = qm_half(pa & 0xffffu), sb = qm_half(pb & 0xffffu);
    float oa = qm_half(pa >> 16) - bias * sa, ob = qm_half(pb >> 16) - bias * sb;
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
    {
        acc[nt][0] = fmaf(sa, gacc[nt][0], fmaf(oa, sx[nt][0], acc[nt][0]));
        acc[nt][1] = fmaf(sa, gacc[nt][1], fmaf(oa, sx[nt][1], acc[nt][1]));
        acc[nt][2] = fmaf(sb, gacc[nt][2], fmaf(ob, sx[nt][0], acc[nt][2]));
        acc[nt][3] = fmaf(sb, gacc[nt][3], fmaf(ob, sx[nt][1], acc[nt][3]));
#pragma unroll
        for (int i = 0; i < 4; i++) { gacc[nt][i] = 0.0f; sx[nt][i] = 0.0f; }
    }
}

template <int FMT, int NT>
__device__ __forceinline__ void qm_body(const QmParts& parts, int k, int group, int blockRows, int scaleCols, const bf16_t* x, int m,
    void* out, long long ldOut, int outF32)
{
    __shared__ float partial[QM_WARPS][NT * 4][32];
    const int tilesPerLoad = FMT == 0 ? 4 : 2;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int tile = blockIdx.x, part = 0, column = 0;
    for (; part < 2; part++)
    {
        int tiles = (parts.n[part] + 15) >> 4;
        if (tile < tiles) break;
        tile -= tiles;
        column += parts.n[part];
    }
    int loads = k / (16 * tilesPerLoad), groups = k / group, tilesPerGroup = group >> 4;
    const uint4* data = parts.data[part] + (size_t)tile * loads * 32 + lane;
    int l0 = warp * loads / QM_WARPS, l1 = (warp + 1) * loads / QM_WARPS;

    float acc[NT][4], gacc[NT][4], sx[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++) { acc[nt][i] = 0.0f; gacc[nt][i] = 0.0f; sx[nt][i] = 0.0f; }

    for (int l = l0; l < l1; l += QM_UNROLL)
    {
        uint4 q[QM_UNROLL];
#pragma unroll
        for (int u = 0; u < QM_UNROLL; u++)
            if (l + u < l1) q[u] = qm_load_stream(data + (size_t)(l + u) * 32);
#pragma unroll
        for (int u = 0; u < QM_UNROLL; u++)
        {
            if (l + u >= l1) break;
            unsigned int words[4] = { q[u].x, q[u].y, q[u].z, q[u].w };
#pragma unroll
            for (int j = 0; j < tilesPerLoad; j++)
            {
                int kt = (l + u) * tilesPerLoad + j;
                unsigned int w0 = FMT == 0 ? words[j] : words[2 * j], w1 = FMT == 0 ? 0u : words[2 * j + 1];
                qm_ktile<FMT, NT>(w0, w1, x, m, k, kt * 16, g, t, gacc, sx);
                // A warp's range may end inside a group: folding a part of a group is the same sum.
                if ((kt + 1) % tilesPerGroup == 0 || kt + 1 == l1 * tilesPerLoad)
                    qm_fold<FMT, NT>(parts.params[part], tile, kt / tilesPerGroup, groups, g, blockRows, scaleCols, acc, gacc, sx);
            }
        }
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

// Up to three parts of one layout and group size (q|k|v, gate|up) in one launch; grid = the parts' 16-row tiles.
#define QM_KERNEL(NAME, FMT) \
extern "C" __global__ void __launch_bounds__(32 * QM_WARPS) NAME(const uint4* d0, const void* p0, int n0, const uint4* d1, \
    const void* p1, int n1, const uint4* d2, const void* p2, int n2, int k, int group, int blockRows, int scaleCols, \
    const bf16_t* x, int m, void* out, long long ldOut, int outF32) \
{ \
    QmParts parts; \
    parts.data[0] = d0; parts.data[1] = d1; parts.data[2] = d2; \
    parts.params[0] = p0; parts.params[1] = p1; parts.params[2] = p2; \
    parts.n[0] = n0; parts.n[1] = n1; parts.n[2] = n2; \
    if (m <= 8) qm_body<FMT, 1>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else qm_body<FMT, 2>(parts, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
}

QM_KERNEL(gemv_g4, 0)
QM_KERNEL(gemv_g8, 1)
QM_KERNEL(gemv_f8, 2)

// Dequantizes rows of a tiled matrix to bf16: output row i = W row (rowIds ? rowIds[i] : rowStart + i), for the
// prefill tile path (a tile of rows into a reusable scratch, then cuBLASLt) and quantized embedding lookups.
// One thread per (row, 16-wide k-tile); F32 arithmetic, one rounding to bf16.
template <int FMT>
__device__ __forceinline__ void qm_dequant_rows(const unsigned char* data, const void* params, int k, int group, int blockRows,
    int scaleCols, const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut)
{
    const int tilesPerLoad = FMT == 0 ? 4 : 2, tileBytes = FMT == 0 ? 4 : 8;
    int kTiles = k >> 4;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)rows * kTiles) return;
    int outRow = (int)(i / kTiles), kt = (int)(i % kTiles);
    int r = rowIds ? rowIds[outRow] : rowStart + outRow;
    int tile = r >> 4, inTile = r & 15, g = inTile & 7, high = inTile >> 3;
    int loads = k / (16 * tilesPerLoad), grp = kt * 16 / group;
    float scale, offset = 0.0f;
    if (FMT == 2) scale = __ldg((const float*)params + (size_t)(r / blockRows) * scaleCols + grp);
    else
    {
        unsigned int p = __ldg((const unsigned int*)params + ((size_t)tile * (k / group) + grp) * 16 + inTile);
        scale = qm_half(p & 0xffffu);
        offset = qm_half(p >> 16);
    }
    float w[16];
#pragma unroll
    for (int t = 0; t < 4; t++)
    {
        const unsigned char* bytes = data + (((size_t)tile * loads + kt / tilesPerLoad) * 32 + 4 * g + t) * 16 + (kt % tilesPerLoad) * tileBytes;
        unsigned int w0 = __ldg((const unsigned int*)bytes), w1 = FMT == 0 ? 0u : __ldg((const unsigned int*)bytes + 1);
#pragma unroll
        for (int e = 0; e < 4; e++)
        {
            // Element e of lane t: k 4t + e; g4/g8 nibble at bit 4·high + 8·(e / 2) + 16·(e % 2); f8 byte 2·high + 4·(e / 2) + e % 2.
            float v;
            if (FMT == 2)
            {
                int byteIndex = 2 * high + 4 * (e >> 1) + (e & 1);
                unsigned int b = ((byteIndex < 4 ? w0 : w1) >> (8 * (byteIndex & 3))) & 0xFFu;
                v = fp8e4m3_to_f32(b) * scale;
            }
            else
            {
                int shift = 4 * high + 8 * (e >> 1) + 16 * (e & 1);
                int q = (int)((w0 >> shift) & 0xFu);
                if (FMT == 1) q = (q | (int)(((w1 >> shift) & 0xFu) << 4)) - 128;
                v = fmaf((float)q, scale, offset);
            }
            w[4 * t + e] = v;
        }
    }
    uint4* dst = (uint4*)(out + (size_t)outRow * ldOut + (size_t)kt * 16);
#pragma unroll
    for (int v = 0; v < 2; v++)
    {
        uint4 o;
        o.x = f32_to_bf16(w[8 * v + 0]) | ((unsigned int)f32_to_bf16(w[8 * v + 1]) << 16);
        o.y = f32_to_bf16(w[8 * v + 2]) | ((unsigned int)f32_to_bf16(w[8 * v + 3]) << 16);
        o.z = f32_to_bf16(w[8 * v + 4]) | ((unsigned int)f32_to_bf16(w[8 * v + 5]) << 16);
        o.w = f32_to_bf16(w[8 * v + 6]) | ((unsigned int)f32_to_bf16(w[8 * v + 7]) << 16);
        dst[v] = o;
    }
}

#define QM_DEQUANT_KERNEL(NAME, FMT) \
extern "C" __global__ void NAME(const unsigned char* data, const void* params, int k, int group, int blockRows, int scaleCols, \
    const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut) \
{ \
    qm_dequant_rows<FMT>(data, params, k, group, blockRows, scaleCols, rowIds, rowStart, rows, out, ldOut); \
}

QM_DEQUANT_KERNEL(dequant_g4_bf16, 0)
QM_DEQUANT_KERNEL(dequant_g8_bf16, 1)
QM_DEQUANT_KERNEL(dequant_f8_bf16, 2)

// xPermuted[row, i] = x[row, perm[i]]: act-order GPTQ stores its columns sorted by group.
extern "C" __global__ void permute_columns_bf16(const bf16_t* x, const int* perm, int k, long long total, bf16_t* xPermuted)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        long long row = i / k;
        xPermuted[i] = x[row * k + perm[i - row * k]];
    }
}
