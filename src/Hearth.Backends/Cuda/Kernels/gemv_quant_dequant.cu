// Dequantization for the prefill tile path and quantized embedding lookups, and the act-order GPTQ input permutation:
// the other kernels over the tensor-core layouts of gemv_quant.cu (CudaQuantTiles.cs), in their own module.

// Every dequantize kernel runs one thread per (output row, 16-wide k-tile) and writes that tile's 16 bf16 values.
struct QdItem
{
    int outRow, kt;          // output row, k-tile
    int r, tile, inTile;     // weight row, its 16-row tile, its row in the tile
    int g, high;             // the MMA row group (inTile % 8) and half (inTile / 8) of the row
};

// False for threads past the last (row, k-tile).
__device__ __forceinline__ bool qd_item(int k, const int* rowIds, int rowStart, int rows, QdItem& it)
{
    int kTiles = k >> 4;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)rows * kTiles) return false;
    it.outRow = (int)(i / kTiles);
    it.kt = (int)(i % kTiles);
    it.r = rowIds ? rowIds[it.outRow] : rowStart + it.outRow;
    it.tile = it.r >> 4;
    it.inTile = it.r & 15;
    it.g = it.inTile & 7;
    it.high = it.inTile >> 3;
    return true;
}

__device__ __forceinline__ void qd_store(const QdItem& it, const float* w, bf16_t* out, long long ldOut)
{
    uint4* dst = (uint4*)(out + (size_t)it.outRow * ldOut + (size_t)it.kt * 16);
    dst[0] = f32_to_bf16x8(w);
    dst[1] = f32_to_bf16x8(w + 8);
}

// Dequantizes rows of a tiled matrix to bf16: output row i = W row (rowIds ? rowIds[i] : rowStart + i), for the
// prefill tile path (a tile of rows into a reusable scratch, then cuBLASLt) and quantized embedding lookups.
// One thread per (row, 16-wide k-tile); F32 arithmetic, one rounding to bf16.
template <int FMT>
__device__ __forceinline__ void qm_dequant_rows(const unsigned char* data, const void* params, int k, int group, int blockRows,
    int scaleCols, const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut)
{
    const int tilesPerLoad = FMT == 0 ? 4 : 2, tileBytes = FMT == 0 ? 4 : 8;
    QdItem it;
    if (!qd_item(k, rowIds, rowStart, rows, it)) return;
    const int kt = it.kt, r = it.r, tile = it.tile, inTile = it.inTile, g = it.g, high = it.high;
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
    qd_store(it, w, out, ldOut);
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

// Compact Q6_K (G6, CudaQuantG6.cs): one thread per (row, 16-wide k-tile), w = d·scale·(q − 32) in F32 in Q6_K's own
// order of operations (so the weights equal the CPU's Q6_K decode before the one rounding to bf16). The arguments are
// the other dequantize kernels' (group, blockRows and scaleCols unused).
extern "C" __global__ void dequant_g6_bf16(const unsigned char* data, const unsigned char* params, int k, int group, int blockRows,
    int scaleCols, const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut)
{
    QdItem it;
    if (!qd_item(k, rowIds, rowStart, rows, it)) return;
    const int kt = it.kt, tile = it.tile, inTile = it.inTile, g = it.g, high = it.high;
    const unsigned char* p = params + ((size_t)tile * (k >> 8) + (kt >> 4)) * 288;
    float d = qm_half(__ldg((const unsigned short*)(p + 256) + inTile));
    float scale = (float)(int)(signed char)__ldg(p + 16 * inTile + (kt & 15));
    float ds = d * scale;
    const unsigned char* unit = data + ((size_t)tile * (k >> 6) + (kt >> 2)) * 768;
    float w[16];
#pragma unroll
    for (int t = 0; t < 4; t++)
    {
        int lane = 4 * g + t;
        unsigned int lo = __ldg((const unsigned int*)(unit + lane * 16) + (kt & 3));
        unsigned int hi = __ldg((const unsigned int*)(unit + 512 + lane * 8) + ((kt & 3) >> 1));
#pragma unroll
        for (int e = 0; e < 4; e++)
        {
            // Element e of lane t: k 4t + e, A register 2·(e / 2) + high, half e % 2.
            int reg = 2 * (e >> 1) + high, half = e & 1;
            int q = (int)((lo >> (4 * reg + 16 * half)) & 0xFu) | (int)(((hi >> (8 * (kt & 1) + 2 * reg + 16 * half)) & 3u) << 4);
            w[4 * t + e] = ds * (float)(q - 32);
        }
    }
    qd_store(it, w, out, ldOut);
}

// Compact Q4_K (K4, CudaQuantK4.cs): one thread per (row, 16-wide k-tile) of G4's tiles, w = (d·sc)·q − (dmin·m) in F32
// with each product rounded (no fused multiply-add), Q4_K's own order of operations, so the weights equal the CPU's Q4_K
// decode before the one rounding to bf16. The arguments are the other dequantize kernels'.
extern "C" __global__ void dequant_k4_bf16(const unsigned char* data, const unsigned char* params, int k, int group, int blockRows,
    int scaleCols, const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut)
{
    QdItem it;
    if (!qd_item(k, rowIds, rowStart, rows, it)) return;
    const int kt = it.kt, tile = it.tile, inTile = it.inTile, g = it.g, high = it.high;
    const unsigned char* p = params + ((size_t)tile * (k >> 8) + (kt >> 4)) * 320;
    const int sub = (kt & 15) >> 1;
    unsigned int dd = __ldg((const unsigned int*)(p + 256) + inTile);
    float ds = __fmul_rn(qm_half(dd & 0xffffu), (float)__ldg(p + 16 * inTile + sub));
    float ms = __fmul_rn(qm_half(dd >> 16), (float)__ldg(p + 16 * inTile + 8 + sub));
    const unsigned char* tileData = data + (size_t)tile * (k >> 6) * 512;
    float w[16];
#pragma unroll
    for (int t = 0; t < 4; t++)
    {
        unsigned int w0 = __ldg((const unsigned int*)(tileData + ((kt >> 2) * 32 + 4 * g + t) * 16 + (kt & 3) * 4));
#pragma unroll
        for (int e = 0; e < 4; e++)
        {
            int q = (int)((w0 >> (4 * high + 8 * (e >> 1) + 16 * (e & 1))) & 0xFu);
            w[4 * t + e] = __fsub_rn(__fmul_rn(ds, (float)q), ms);
        }
    }
    qd_store(it, w, out, ldOut);
}

// xPermuted[row, i] = x[row, perm[i]]: act-order GPTQ stores its columns sorted by group.
extern "C" __global__ void permute_columns_bf16(const bf16_t* x, const int* perm, int k, long long total, bf16_t* xPermuted)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        long long row = i / k;
        xPermuted[i] = x[row * k + perm[i - row * k]];
    }
}
