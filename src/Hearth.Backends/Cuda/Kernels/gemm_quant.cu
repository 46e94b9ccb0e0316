// Quantized GEMM for batches of 17-64 rows per launch (more in column chunks, grid z): y[m, ldOut] (column slice)
// = x[m, k] · W[n, k]^T on tensor cores, reading the tiled layouts of gemv_quant.cu / CudaQuantTiles.cs (per 16-row
// tile, the register order of mma.m16n8k16's A operand). Unlike the GEMV, one launch reads each weight byte once for
// the whole batch: a block owns GQ_WARPS * 32 weight rows (each warp two 16-row tiles) and up to 64 batch rows,
// stages weights, params and x through shared memory with cp.async (GQ_STAGES deep, 64 k a stage), and each warp
// dequantizes its A fragments in registers: g4/g8 to bf16 w = q·s + o (q exact through the magic-number bias, then one
// bf16x2 fma with the group's scale and offset: the weight rounded to bf16 once, as the dequantize+cuBLASLt path
// rounds it), f8 to the exact e4m3 value times the block scale. Every B fragment (x) is loaded once per warp for its
// two tiles. k can be split over grid y (splits > 1): each split writes F32 partials and the last to arrive (a
// per-output-tile counter) sums them in split order, so the result does not depend on arrival order, and resets
// the counter for the next launch (graph replays included).
//
// Compact Q6_K (FMT 4, CudaQuantG6.cs): a stage is one 768-byte unit a tile (4-bit plane, then 2-bit plane) and the
// tile's 288 bytes of params for the super-block holding it; q − 32 is built exactly as in gemv_kquant6.cu and one bf16x2
// multiply by the rounded d·scale of its row and 16-k sub-block makes the weight (rounded to bf16 twice, as g8's is).
//
// Compact Q4_K (FMT 5, CudaQuantK4.cs): G4's tiles (as FMT 0) and per stage the tile's 320 bytes of params of the
// super-block holding it; at each 32-k sub-block s = d·sc and o = −dmin·m are formed in F32 from the file's values and
// enter FMT 0's recipe (integer zero point z = rint(o / s) joined to q exactly, s and the remainder o − z·s as bf16).
//
// W8A8 (FMT 3, sm_89+): x is first quantized per row and per 128-wide k-group to e4m3 with scale amax / 448
// (fp8_act_quant), the f8 weight tiles feed mma.m16n8k32 e4m3 directly (a prmt turns two k-tiles' bytes into its
// A registers), and each group's F32 sum is folded as acc += (w_scale · x_scale[row]) · sum.

#include "gemm_quant.cuh"

// Shared memory of one stage: x rows (bf16: 64 k + 16 pad = 160 B, so the 8-byte B loads of a half warp hit 32
// distinct banks; e4m3: 64 + 16 = 80 B, 4-byte loads of a whole warp), then the block's weight tiles, then params.
template <int FMT, int NT>
struct GqStage
{
    static const int XROW = FMT == 3 ? 80 : 160;
    static const int LPS = FMT == 0 || FMT == 5 ? 1 : 2;     // 16-byte loads per lane per tile per stage
    static const int TILE_BYTES = FMT == 4 ? 768 : LPS * 512; // one tile's weights in a stage
    static const int X_BYTES = NT * 8 * XROW;
    static const int W_BYTES = GQ_TPB * TILE_BYTES;
    static const int P_BYTES = FMT == 4 ? GQ_TPB * 288 : FMT == 5 ? GQ_TPB * 320 : FMT <= 1 ? GQ_TPB * GQ_MAX_GROUPS * 64 : (GQ_TPB + NT * 8) * 4;
    static const int BYTES = X_BYTES + W_BYTES + P_BYTES;
};

template <int FMT, int NT>
__device__ __forceinline__ void gq_issue(const GqArgs& a, const unsigned char* data, const void* params, unsigned char* stage, int tile0,
    int tiles, int col0, int s)
{
    typedef GqStage<FMT, NT> S;
    const int tid = threadIdx.x, threads = GQ_WARPS * 32;
    const int k = a.k, k0 = s * GQ_BK;
    // x: NT*8 rows of 64 k (bf16: 8 chunks of 16 B a row; e4m3: 4).
    const int xChunks = FMT == 3 ? 4 : 8, xElem = FMT == 3 ? 1 : 2;
    for (int c = tid; c < NT * 8 * xChunks; c += threads)
    {
        int r = c / xChunks, j = c % xChunks, row = col0 + r;
        const unsigned char* src = (const unsigned char*)a.x + ((size_t)(row < a.m ? row : 0) * k + k0) * xElem + j * 16;
        gq_cp16(stage + r * S::XROW + j * 16, src, row < a.m);
    }
    unsigned char* w = stage + S::X_BYTES;
    if (FMT == 4)
    {
        // G6: the tiles' 768-byte unit of this stage, then their 288-byte params of its super-block.
        const int units = k / 64;
        for (int c = tid; c < GQ_TPB * 48; c += threads)
        {
            int t = c / 48, j = c % 48;
            const unsigned char* src = data + ((size_t)(tile0 + t) * units + s) * 768 + j * 16;
            gq_cp16(w + c * 16, t < tiles ? src : data, t < tiles);
        }
        unsigned char* p = w + S::W_BYTES;
        for (int c = tid; c < GQ_TPB * 18; c += threads)
        {
            int t = c / 18, j = c % 18;
            const unsigned char* src = (const unsigned char*)params + ((size_t)(tile0 + t) * (k / 256) + s / 4) * 288 + j * 16;
            gq_cp16(p + c * 16, t < tiles ? (const void*)src : params, t < tiles);
        }
        return;
    }
    // Weights: the tiles' loads of this stage, contiguous per tile (loadsPerTile 16-byte loads per lane).
    const int loadsPerTile = FMT == 0 || FMT == 5 ? k / 64 : k / 32;
    for (int c = tid; c < GQ_TPB * S::LPS * 32; c += threads)
    {
        int t = c / (S::LPS * 32), rest = c % (S::LPS * 32);
        const unsigned char* src = data + (((size_t)(tile0 + t) * loadsPerTile + (size_t)s * S::LPS) * 32 + rest) * 16;
        gq_cp16(w + c * 16, t < tiles ? src : data, t < tiles);
    }
    unsigned char* p = w + S::W_BYTES;
    if (FMT == 5)
    {
        // K4: the tiles' 320-byte params of the super-block holding this stage.
        for (int c = tid; c < GQ_TPB * 20; c += threads)
        {
            int t = c / 20, j = c % 20;
            const unsigned char* src = (const unsigned char*)params + ((size_t)(tile0 + t) * (k / 256) + s / 4) * 320 + j * 16;
            gq_cp16(p + c * 16, t < tiles ? (const void*)src : params, t < tiles);
        }
        return;
    }
    if (FMT <= 1)
    {
        // [tile][slot][16 rows] uints: the groups this stage touches, from the first (k0 / group).
        int shift = __ffs(a.group) - 1, groups = k >> shift, g0 = k0 >> shift, count = ((k0 + GQ_BK - 1) >> shift) - g0 + 1;
        for (int c = tid; c < GQ_TPB * GQ_MAX_GROUPS * 4; c += threads)
        {
            int t = c / (GQ_MAX_GROUPS * 4), slot = (c / 4) % GQ_MAX_GROUPS, j = c % 4;
            bool valid = t < tiles && slot < count;
            const unsigned int* src = (const unsigned int*)params + ((size_t)(tile0 + t) * groups + g0 + slot) * 16 + j * 4;
            gq_cp16(p + c * 16, valid ? (const void*)src : params, valid);
        }
    }
    else
    {
        // Block scales of the group holding this stage: one per tile, then (FMT 3) one per x row.
        int grp = k0 / a.group;
        for (int c = tid; c < GQ_TPB + (FMT == 3 ? NT * 8 : 0); c += threads)
        {
            bool valid;
            const float* src;
            if (c < GQ_TPB)
            {
                valid = c < tiles;
                src = (const float*)params + (size_t)((tile0 + c) * 16 / a.blockRows) * a.scaleCols + grp;
            }
            else
            {
                int row = col0 + c - GQ_TPB;
                valid = row < a.m;
                src = a.xScales + (size_t)row * (k / a.group) + grp;
            }
            gq_cp4(p + c * 4, valid ? (const void*)src : params, valid);
        }
    }
}

// Hands each of a warp's accumulator values inside the part (row < partRows) and the batch (col < m) to store:
// the direct store and the split-k partials visit the same fragment positions.
template <int NT, typename Store>
__device__ __forceinline__ void gq_each_result(const float (&acc)[GQ_TPW][NT][4], int rowBase, int col0, int partRows, int m,
    int g, int t, Store store)
{
#pragma unroll
    for (int tt = 0; tt < GQ_TPW; tt++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                int row = rowBase + tt * 16 + g + (e >= 2 ? 8 : 0), col = col0 + nt * 8 + 2 * t + (e & 1);
                if (row < partRows && col < m) store(row, col, acc[tt][nt][e]);
            }
}

#include "gemm_quant_stage.cuh"

template <int FMT, int NT>
__device__ __forceinline__ void gq_body(const GqArgs& a)
{
    typedef GqStage<FMT, NT> S;
    extern __shared__ __align__(16) unsigned char gq_smem[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    // Which part and which of its blocks of GQ_TPB tiles.
    int block = blockIdx.x, part = 0, column = 0;
    for (; part < 2; part++)
    {
        int n = part == 0 ? a.n[0] : a.n[1];
        int blocks = ((n + 15) / 16 + GQ_TPB - 1) / GQ_TPB;
        if (block < blocks) break;
        block -= blocks;
        column += n;
    }
    // The part's pointers and size by selection, not by a runtime index (which would put the arguments in local memory).
    const unsigned char* partData = part == 0 ? a.data[0] : part == 1 ? a.data[1] : a.data[2];
    const void* partParams = part == 0 ? a.params[0] : part == 1 ? a.params[1] : a.params[2];
    const int partRows = part == 0 ? a.n[0] : part == 1 ? a.n[1] : a.n[2];
    const int partTiles = (partRows + 15) / 16, tile0 = block * GQ_TPB, tiles = min(GQ_TPB, partTiles - tile0);
    const int col0 = blockIdx.z * NT * 8;
    // This split's stages; FMT 3 splits only at group boundaries (its folds happen at group ends).
    const int stages = a.k / GQ_BK, unit = FMT == 3 ? a.group / GQ_BK : 1, units = stages / unit;
    const int s0 = (int)((long long)blockIdx.y * units / a.splits) * unit, s1 = (int)((long long)(blockIdx.y + 1) * units / a.splits) * unit;
    const int nst = s1 - s0;

    float acc[GQ_TPW][NT][4], gacc[FMT == 3 ? GQ_TPW : 1][FMT == 3 ? NT : 1][4];
#pragma unroll
    for (int i = 0; i < GQ_TPW; i++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][nt][e] = 0.0f;
#pragma unroll
    for (int i = 0; i < (FMT == 3 ? GQ_TPW : 1); i++)
#pragma unroll
        for (int nt = 0; nt < (FMT == 3 ? NT : 1); nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) gacc[i][nt][e] = 0.0f;

#pragma unroll
    for (int i = 0; i < GQ_STAGES - 1; i++)
    {
        if (i < nst) gq_issue<FMT, NT>(a, partData, partParams, gq_smem + i * S::BYTES, tile0, tiles, col0, s0 + i);
        gq_commit();
    }
    const bool active = warp * GQ_TPW < tiles;
    unsigned int sc[GQ_TPW][6];   // per tile, bf16x2 pairs of rows g and g + 8: scales; offsets (g4: remainders); g4: z − 128
    for (int i = 0; i < nst; i++)
    {
        gq_wait<GQ_STAGES - 2>();
        __syncthreads();
        if (i + GQ_STAGES - 1 < nst)
            gq_issue<FMT, NT>(a, partData, partParams, gq_smem + ((i + GQ_STAGES - 1) % GQ_STAGES) * S::BYTES, tile0, tiles, col0, s0 + i + GQ_STAGES - 1);
        gq_commit();
        if (!active) continue;
        const unsigned char* st = gq_smem + (i % GQ_STAGES) * S::BYTES;
        const unsigned char* xs = st;
        const unsigned char* ws = st + S::X_BYTES + warp * GQ_TPW * S::TILE_BYTES;
        const unsigned char* ps = st + S::X_BYTES + S::W_BYTES;
        const int k0 = (s0 + i) * GQ_BK;
        if constexpr (FMT == 3) gq_stage_w8a8<NT>(a, xs, ws, ps, k0, warp, lane, acc, gacc);
        else if constexpr (FMT == 4) gq_stage_g6<NT>(xs, ws, ps, k0, warp, lane, acc);
        else gq_stage_tiles<FMT, NT>(a, xs, ws, ps, k0, warp, lane, sc, acc);
    }
    gq_wait<0>();
    gq_finish<NT>(a, acc, active, tile0, partRows, col0, column, warp, lane);
}

#define GQ_KERNEL(NAME, FMT, NT) \
extern "C" __global__ void __launch_bounds__(32 * GQ_WARPS) NAME(const unsigned char* d0, const void* p0, int n0, \
    const unsigned char* d1, const void* p1, int n1, const unsigned char* d2, const void* p2, int n2, int k, int group, \
    int blockRows, int scaleCols, const void* x, const float* xScales, int m, void* out, long long ldOut, int outF32, \
    int splits, float* partials, unsigned int* counters) \
{ \
    GqArgs a; \
    a.data[0] = d0; a.data[1] = d1; a.data[2] = d2; a.params[0] = p0; a.params[1] = p1; a.params[2] = p2; \
    a.n[0] = n0; a.n[1] = n1; a.n[2] = n2; a.k = k; a.group = group; a.blockRows = blockRows; a.scaleCols = scaleCols; \
    a.x = x; a.xScales = xScales; a.m = m; a.out = out; a.ldOut = ldOut; a.outF32 = outF32; a.splits = splits; \
    a.nSum = n0 + n1 + n2; a.partials = partials; a.counters = counters; \
    gq_body<FMT, NT>(a); \
}

GQ_KERNEL(gemm_g4_n32, 0, 4)
GQ_KERNEL(gemm_g4_n64, 0, 8)
GQ_KERNEL(gemm_g8_n32, 1, 4)
GQ_KERNEL(gemm_g8_n64, 1, 8)
GQ_KERNEL(gemm_f8_n32, 2, 4)
GQ_KERNEL(gemm_f8_n64, 2, 8)
GQ_KERNEL(gemm_w8a8_n64, 3, 8)
GQ_KERNEL(gemm_g6_n32, 4, 4)
GQ_KERNEL(gemm_g6_n64, 4, 8)
GQ_KERNEL(gemm_k4_n32, 5, 4)
GQ_KERNEL(gemm_k4_n64, 5, 8)
