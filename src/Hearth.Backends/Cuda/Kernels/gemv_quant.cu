// Batch 1-16 matrix-vector products for quantized weights: y[m, ldOut] (column slice) = x[m, k] * W[n, k]^T,
// bf16 x, F32 accumulation. Decode is bound by streaming W once, so each warp owns one output row and streams it
// with 16-byte loads (QG_UNROLL in flight per lane), dequantizes in registers and reuses each dequantized weight
// for all M input rows. The GPU layouts (made at upload, CudaQuantLayout.cs, docs/cuda.md):
//   g4: U8 [n, k/2] in 32-weight chunks of 16 bytes, byte b = weight b (low nibble) | weight 16+b (high);
//       params half2 [n, k/group] = (scale, offset): w = q * scale + offset. AWQ/GPTQ, GGUF Q4_0 and Q4_K.
//   g8: I8 [n, k] (signed), params half2 [n, k/group]: w = q * scale + offset. GGUF Q8_0, Q5_K, Q6_K.
//   f8: e4m3 [n, k], F32 scales [ceil(n/blockRows), ceil(k/blockCols)]: w = fp8 * scale. FP8 block checkpoints.
// Requires 16-byte aligned rows and x (checked on the host).

#define QG_WARPS 8
#define QG_UNROLL 2

__device__ __forceinline__ uint4 qg_load_stream(const uint4* p)
{
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ float qg_half(unsigned int bits)
{
    float f;
    unsigned short h = (unsigned short)bits;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ void qg_bf16x8(uint4 v, float* f)
{
    f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
    f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
    f[4] = __uint_as_float(v.z << 16); f[5] = __uint_as_float(v.z & 0xffff0000u);
    f[6] = __uint_as_float(v.w << 16); f[7] = __uint_as_float(v.w & 0xffff0000u);
}

// 2^23 + q as a float, minus 2^23: exact for q < 2^23, and cheaper than an integer conversion.
__device__ __forceinline__ float qg_u4(unsigned int word, int shift) { return __uint_as_float(0x4B000000u | ((word >> shift) & 0xFu)) - 8388608.0f; }

__device__ __forceinline__ float qg_s8(unsigned int word, int shift) { return __uint_as_float(0x4B000000u | (((word >> shift) & 0xFFu) ^ 0x80u)) - 8388736.0f; }

// e4m3's 7 magnitude bits placed at the f32 exponent/mantissa boundary give 2^-120 times its value (an f32
// subnormal for e4m3 subnormals, still exact); one multiply by 2^120 makes it the value.
__device__ __forceinline__ float qg_e4m3(unsigned int word, int shift)
{
    unsigned int b = (word >> shift) & 0xFFu;
    return __uint_as_float(((b & 0x7Fu) << 20) | ((b & 0x80u) << 24)) * __int_as_float(0x7B800000); // 2^120
}

// Dequantizes one 16-byte chunk of a row into w (32 weights for g4, 16 for g8 and f8).
template <int FMT>
__device__ __forceinline__ void qg_dequant(uint4 q, float scale, float offset, float* w)
{
    unsigned int words[4] = { q.x, q.y, q.z, q.w };
    if (FMT == 0)
    {
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int b = 0; b < 4; b++)
            {
                w[4 * j + b] = fmaf(qg_u4(words[j], 8 * b), scale, offset);
                w[16 + 4 * j + b] = fmaf(qg_u4(words[j], 8 * b + 4), scale, offset);
            }
    }
    else if (FMT == 1)
    {
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int b = 0; b < 4; b++) w[4 * j + b] = fmaf(qg_s8(words[j], 8 * b), scale, offset);
    }
    else
    {
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int b = 0; b < 4; b++) w[4 * j + b] = qg_e4m3(words[j], 8 * b) * scale;
    }
}

struct QgRow
{
    const uint4* data;      // the row's chunks
    const void* params;     // g4/g8: the row's half2 params; f8: the row's block-row of F32 scales
    int chunksPerGroup;     // g4/g8: chunks sharing one param; f8: chunks per scale block column
};

template <int FMT>
__device__ __forceinline__ void qg_params(const QgRow& row, int c, float& scale, float& offset)
{
    int g = c / row.chunksPerGroup;
    if (FMT == 2)
    {
        scale = __ldg((const float*)row.params + g);
        offset = 0.0f;
    }
    else
    {
        unsigned int p = __ldg((const unsigned int*)row.params + g);
        scale = qg_half(p & 0xffffu);
        offset = qg_half(p >> 16);
    }
}

// x rows are read for chunk c: 32 (g4) or 16 (g8, f8) bf16 values each.
template <int FMT, int M>
__device__ __forceinline__ void qg_fma(const float* w, const bf16_t* x, int k, int c, int rowsValid, float* acc)
{
    const int per = FMT == 0 ? 32 : 16;
#pragma unroll
    for (int m = 0; m < M; m++)
    {
        const uint4* xr = (const uint4*)(x + (size_t)min(m, rowsValid - 1) * k + (size_t)c * per);
#pragma unroll
        for (int v = 0; v < per / 8; v++)
        {
            float xf[8];
            qg_bf16x8(__ldg(xr + v), xf);
#pragma unroll
            for (int i = 0; i < 8; i++) acc[m] = fmaf(w[8 * v + i], xf[i], acc[m]);
        }
    }
}

template <int FMT, int M>
__device__ __forceinline__ void qg_row(const QgRow& row, const bf16_t* x, int k, int chunks, int rowsValid, float* acc)
{
    const int per = FMT == 0 ? 32 : 16;
    int c = threadIdx.x & 31;
    for (; c + 32 * (QG_UNROLL - 1) < chunks; c += 32 * QG_UNROLL)
    {
        uint4 q[QG_UNROLL];
#pragma unroll
        for (int u = 0; u < QG_UNROLL; u++) q[u] = qg_load_stream(row.data + c + 32 * u);
#pragma unroll
        for (int u = 0; u < QG_UNROLL; u++)
        {
            float scale, offset, w[per];
            qg_params<FMT>(row, c + 32 * u, scale, offset);
            qg_dequant<FMT>(q[u], scale, offset, w);
            qg_fma<FMT, M>(w, x, k, c + 32 * u, rowsValid, acc);
        }
    }
    for (; c < chunks; c += 32)
    {
        float scale, offset, w[per];
        qg_params<FMT>(row, c, scale, offset);
        qg_dequant<FMT>(qg_load_stream(row.data + c), scale, offset, w);
        qg_fma<FMT, M>(w, x, k, c, rowsValid, acc);
    }
}

// One warp per output row; rows of the part are [0, n). f8 passes blockRows and the scale matrix's column count.
template <int FMT, int M>
__device__ __forceinline__ void qg_body(const unsigned char* data, const void* params, int n, int k, int group, int blockRows,
    int scaleCols, const bf16_t* x, int m, void* out, long long ldOut, int outF32)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int r = blockIdx.x * QG_WARPS + warp;
    if (r >= n) return;
    const int per = FMT == 0 ? 32 : 16;
    int chunks = k / per;
    QgRow row;
    row.data = (const uint4*)(data + (size_t)r * (FMT == 0 ? k / 2 : k));
    if (FMT == 2)
    {
        row.params = (const float*)params + (size_t)(r / blockRows) * scaleCols;
        row.chunksPerGroup = group / per;
    }
    else
    {
        row.params = (const unsigned int*)params + (size_t)r * (k / group);
        row.chunksPerGroup = group / per;
    }
    float acc[M];
#pragma unroll
    for (int i = 0; i < M; i++) acc[i] = 0.0f;
    qg_row<FMT, M>(row, x, k, chunks, m, acc);
#pragma unroll
    for (int i = 0; i < M; i++) acc[i] = warp_sum(acc[i]);
    if (lane == 0)
    {
#pragma unroll
        for (int i = 0; i < M; i++)
        {
            if (i >= m) break;
            if (outF32) ((float*)out)[i * ldOut + r] = acc[i];
            else ((bf16_t*)out)[i * ldOut + r] = f32_to_bf16(acc[i]);
        }
    }
}

// m is 1..16; M is the next of 1, 2, 4, 8, 16 (extra rows re-read the last x row and are not written).
#define QG_KERNEL(NAME, FMT) \
extern "C" __global__ void __launch_bounds__(32 * QG_WARPS) NAME(const unsigned char* data, const void* params, int n, int k, \
    int group, int blockRows, int scaleCols, const bf16_t* x, int m, void* out, long long ldOut, int outF32) \
{ \
    if (m <= 1) qg_body<FMT, 1>(data, params, n, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else if (m <= 2) qg_body<FMT, 2>(data, params, n, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else if (m <= 4) qg_body<FMT, 4>(data, params, n, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else if (m <= 8) qg_body<FMT, 8>(data, params, n, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
    else qg_body<FMT, 16>(data, params, n, k, group, blockRows, scaleCols, x, m, out, ldOut, outF32); \
}

QG_KERNEL(gemv_g4, 0)
QG_KERNEL(gemv_g8, 1)
QG_KERNEL(gemv_f8, 2)

// Dequantizes rows of a quantized matrix to bf16: output row i = W row (rowIds ? rowIds[i] : rowStart + i), for
// the prefill tile path (a tile of rows into a reusable scratch, then cuBLASLt) and quantized embedding lookups.
// One thread per 16-byte chunk.
template <int FMT>
__device__ __forceinline__ void qg_dequant_rows(const unsigned char* data, const void* params, int k, int group, int blockRows,
    int scaleCols, const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut)
{
    const int per = FMT == 0 ? 32 : 16;
    int chunks = k / per;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)rows * chunks) return;
    int outRow = (int)(i / chunks), c = (int)(i % chunks);
    int r = rowIds ? rowIds[outRow] : rowStart + outRow;
    QgRow row;
    row.data = (const uint4*)(data + (size_t)r * (FMT == 0 ? k / 2 : k));
    row.params = FMT == 2 ? (const void*)((const float*)params + (size_t)(r / blockRows) * scaleCols)
                          : (const void*)((const unsigned int*)params + (size_t)r * (k / group));
    row.chunksPerGroup = group / per;
    float scale, offset, w[per];
    qg_params<FMT>(row, c, scale, offset);
    qg_dequant<FMT>(__ldg(row.data + c), scale, offset, w);
    uint4* dst = (uint4*)(out + (size_t)outRow * ldOut + (size_t)c * per);
#pragma unroll
    for (int v = 0; v < per / 8; v++)
    {
        uint4 o;
        o.x = f32_to_bf16(w[8 * v + 0]) | ((unsigned int)f32_to_bf16(w[8 * v + 1]) << 16);
        o.y = f32_to_bf16(w[8 * v + 2]) | ((unsigned int)f32_to_bf16(w[8 * v + 3]) << 16);
        o.z = f32_to_bf16(w[8 * v + 4]) | ((unsigned int)f32_to_bf16(w[8 * v + 5]) << 16);
        o.w = f32_to_bf16(w[8 * v + 6]) | ((unsigned int)f32_to_bf16(w[8 * v + 7]) << 16);
        dst[v] = o;
    }
}

#define QG_DEQUANT_KERNEL(NAME, FMT) \
extern "C" __global__ void NAME(const unsigned char* data, const void* params, int k, int group, int blockRows, int scaleCols, \
    const int* rowIds, int rowStart, int rows, bf16_t* out, long long ldOut) \
{ \
    qg_dequant_rows<FMT>(data, params, k, group, blockRows, scaleCols, rowIds, rowStart, rows, out, ldOut); \
}

QG_DEQUANT_KERNEL(dequant_g4_bf16, 0)
QG_DEQUANT_KERNEL(dequant_g8_bf16, 1)
QG_DEQUANT_KERNEL(dequant_f8_bf16, 2)

// xPermuted[row, i] = x[row, perm[i]]: act-order GPTQ stores its columns sorted by group.
extern "C" __global__ void permute_columns_bf16(const bf16_t* x, const int* perm, int k, long long total, bf16_t* xPermuted)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        long long row = i / k;
        xPermuted[i] = x[row * k + perm[i - row * k]];
    }
}
