// nvcc harness for Kernels/gemm_quant.cu, run ON THE GPU MACHINE by tools/gpu/gemm_quant_run.sh, which compiles
// common.cu + gemv_quant.cu + gemm_quant.cu + this file. Exploration only (the shipped numbers come from the parity
// runner and hearth bench): (1) correctness of gemm_{g4,g8,f8} against dequant_*_bf16 + a naive F32 product, and of
// gemm_w8a8 against a naive product of the same quantized activations; (2) µs per Qwen3-14B layer (q|k|v, o,
// gate|up, down) at 32..2048 rows against cuBLAS bf16 on dense weights of the same shape, the batch-16 GEMV in
// chunks of 16, and dequantize + cuBLAS. Weights are random bit patterns with valid params.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cublas_v2.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

extern "C" __global__ void ref_gemm(const bf16_t* w, const bf16_t* x, int n, int k, int m, float* y)
{
    int row = blockIdx.x * blockDim.x + threadIdx.x, col = blockIdx.y;
    if (row >= n) return;
    float s = 0.0f;
    for (int i = 0; i < k; i++) s += bf16_to_f32(w[(size_t)row * k + i]) * bf16_to_f32(x[(size_t)col * k + i]);
    y[(size_t)col * n + row] = s;
}

// W8A8 reference: w1 = the e4m3 weights dequantized with scale 1 (exact), blockScales per (rowBlock, group).
extern "C" __global__ void ref_w8a8(const bf16_t* w1, const float* wScales, int blockRows, int scaleCols, const unsigned char* xq,
    const float* xs, int n, int k, int group, int m, float* y)
{
    int row = blockIdx.x * blockDim.x + threadIdx.x, col = blockIdx.y;
    if (row >= n) return;
    float total = 0.0f;
    for (int g = 0; g < k / group; g++)
    {
        float s = 0.0f;
        for (int i = g * group; i < (g + 1) * group; i++) s += bf16_to_f32(w1[(size_t)row * k + i]) * fp8e4m3_to_f32(xq[(size_t)col * k + i]);
        total += wScales[(row / blockRows) * scaleCols + g] * xs[(size_t)col * (k / group) + g] * s;
    }
    y[(size_t)col * n + row] = total;
}

struct Mat { int n, k, fmt, group; unsigned char* data; void* params; float* ones; };

static unsigned short f2h(float f) { __half_raw r = __float2half_rn(f); return r.x; }

static Mat make(int n, int k, int fmt, int group)
{
    Mat M{n, k, fmt, group, nullptr, nullptr, nullptr};
    size_t tiles = (n + 15) / 16, bytes = tiles * 16 * (size_t)k / (fmt == 0 ? 2 : 1);
    std::vector<unsigned char> h(bytes);
    for (auto& b : h) b = rand() & 0xff;
    if (fmt == 2) for (auto& b : h) b &= 0xF7;   // no NaN
    CK(cudaMalloc(&M.data, bytes));
    CK(cudaMemcpy(M.data, h.data(), bytes, cudaMemcpyHostToDevice));
    if (fmt == 2)
    {
        int sr = (n + 127) / 128, sc = (k + 127) / 128;
        std::vector<float> s(sr * sc), one(sr * sc, 1.0f);
        for (auto& v : s) v = 1e-3f * (1 + rand() % 7);
        CK(cudaMalloc(&M.params, s.size() * 4));
        CK(cudaMemcpy(M.params, s.data(), s.size() * 4, cudaMemcpyHostToDevice));
        CK(cudaMalloc(&M.ones, one.size() * 4));
        CK(cudaMemcpy(M.ones, one.data(), one.size() * 4, cudaMemcpyHostToDevice));
    }
    else
    {
        std::vector<unsigned int> p(tiles * (k / group) * 16);
        for (auto& v : p) v = f2h(0.002f * (1 + rand() % 9)) | ((unsigned int)f2h(-0.01f * (rand() % 5)) << 16);
        CK(cudaMalloc(&M.params, p.size() * 4));
        CK(cudaMemcpy(M.params, p.data(), p.size() * 4, cudaMemcpyHostToDevice));
    }
    return M;
}

static const char* kNames[] = {"gemm_g4", "gemm_g8", "gemm_f8", "gemm_w8a8"};
static int g_sms;
static float* g_partials;
static unsigned int* g_counters;
static const size_t kPartialFloats = 8u << 20;

template <int FMT, int NT> static void* kernelOf();
#define KOF(F, N, NAME) template <> void* kernelOf<F, N>() { return (void*)NAME; }
KOF(0, 4, gemm_g4_n32) KOF(0, 8, gemm_g4_n64) KOF(1, 4, gemm_g8_n32) KOF(1, 8, gemm_g8_n64) KOF(2, 4, gemm_f8_n32) KOF(2, 8, gemm_f8_n64) KOF(3, 8, gemm_w8a8_n64)

static size_t stageBytes(int fmt, int nt)
{
    size_t x = nt * 8 * (fmt == 3 ? 80 : 160), w = GQ_TPB * (fmt == 0 ? 1 : 2) * 512, p = fmt <= 1 ? GQ_TPB * GQ_MAX_GROUPS * 64 : (GQ_TPB + nt * 8) * 4;
    return (x + w + p) * GQ_STAGES;
}

// The same choice as CudaBackend.QuantGemm.cs (GemmSplitPlanner): fewest waves times stages a block runs.
static int chooseSplits(int blocks, int units, int unitStages, int perSm, size_t partialFloatsPerSplit)
{
    int capacity = g_sms * perSm, best = 1;
    double bestCost = 1e30;
    for (int s = 1; s <= 16 && s * 2 <= units; s++)
    {
        if (s > 1 && partialFloatsPerSplit * s > kPartialFloats) break;
        int waves = (blocks * s + capacity - 1) / capacity;
        double cost = waves * ((double)units / s * unitStages + 3.0);
        if (cost < bestCost - 1e-9) { bestCost = cost; best = s; }
    }
    return best;
}

static int g_forceSplits = 0;

template <int FMT, int NT>
static void launch(const Mat* parts, int count, const void* x, const float* xs, int m, void* out, long long ldOut, int outF32, cudaStream_t st)
{
    const unsigned char* d[3] = {nullptr, nullptr, nullptr};
    const void* p[3] = {nullptr, nullptr, nullptr};
    int n[3] = {0, 0, 0}, nSum = 0, rowBlocks = 0;
    for (int i = 0; i < count; i++)
    {
        d[i] = parts[i].data; p[i] = parts[i].params; n[i] = parts[i].n; nSum += n[i];
        rowBlocks += ((n[i] + 15) / 16 + GQ_TPB - 1) / GQ_TPB;
    }
    int k = parts[0].k, group = FMT >= 2 ? 128 : parts[0].group, blockRows = 128, scaleCols = (k + 127) / 128;
    int chunks = (m + NT * 8 - 1) / (NT * 8);
    void* fn = kernelOf<FMT, NT>();
    size_t smem = stageBytes(FMT, NT);
    static bool set[4][9];
    static int perSm[4][9];
    if (!set[FMT][NT])
    {
        CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm[FMT][NT], fn, 32 * GQ_WARPS, smem));
        set[FMT][NT] = true;
        printf("  [%s n%d: %zu B shared, %d blocks/SM]\n", kNames[FMT], NT * 8, smem, perSm[FMT][NT]);
    }
    int unitStages = FMT == 3 ? group / 64 : 1, units = k / 64 / unitStages;
    int splits = g_forceSplits ? g_forceSplits : chooseSplits(rowBlocks * chunks, units, unitStages, perSm[FMT][NT], (size_t)m * nSum);
    int outf = outF32;
    void* args[] = {&d[0], &p[0], &n[0], &d[1], &p[1], &n[1], &d[2], &p[2], &n[2], &k, &group, &blockRows, &scaleCols, (void*)&x, (void*)&xs,
        &m, &out, &ldOut, &outf, &splits, &g_partials, &g_counters};
    CK(cudaLaunchKernel(fn, dim3(rowBlocks, splits, chunks), dim3(32 * GQ_WARPS), args, smem, st));
}

template <int FMT>
static void gemm(const Mat* parts, int count, const void* x, const float* xs, int m, void* out, long long ldOut, int outF32, cudaStream_t st)
{
    if constexpr (FMT == 3) launch<3, 8>(parts, count, x, xs, m, out, ldOut, outF32, st);
    else if (m <= 32) launch<FMT, 4>(parts, count, x, xs, m, out, ldOut, outF32, st);
    else launch<FMT, 8>(parts, count, x, xs, m, out, ldOut, outF32, st);
}

static void dequant(const Mat& M, bf16_t* out, bool unitScales)
{
    int k = M.k, group = M.fmt == 2 ? 128 : M.group, blockRows = 128, scaleCols = (k + 127) / 128, rowStart = 0, rows = M.n;
    const int* ids = nullptr;
    long long ld = k;
    const void* params = unitScales ? (const void*)M.ones : M.params;
    void* args[] = {(void*)&M.data, (void*)&params, &k, &group, &blockRows, &scaleCols, (void*)&ids, &rowStart, &rows, &out, &ld};
    long long chunks = (long long)rows * (k / 16);
    void* fn = M.fmt == 0 ? (void*)dequant_g4_bf16 : M.fmt == 1 ? (void*)dequant_g8_bf16 : (void*)dequant_f8_bf16;
    CK(cudaLaunchKernel(fn, dim3((unsigned)((chunks + 255) / 256)), dim3(256), args, 0, 0));
}

static void randomBf16(bf16_t* dst, size_t count, float scale)
{
    std::vector<bf16_t> h(count);
    for (auto& v : h)
    {
        float f = scale * ((rand() / (float)RAND_MAX) * 2 - 1);
        unsigned int bits;
        memcpy(&bits, &f, 4);
        v = (bf16_t)(bits >> 16);
    }
    CK(cudaMemcpy(dst, h.data(), count * 2, cudaMemcpyHostToDevice));
}

static double maxRelErr(const float* a, const float* b, size_t count)
{
    std::vector<float> ha(count), hb(count);
    CK(cudaMemcpy(ha.data(), a, count * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hb.data(), b, count * 4, cudaMemcpyDeviceToHost));
    double scale = 0, err = 0;
    for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(ha[i]));
    for (size_t i = 0; i < count; i++) err = fmax(err, fabs(ha[i] - hb[i]));
    return err / fmax(scale, 1e-30);
}

static int g_failures = 0;

static void checkOne(int fmt, int group, int n, int k, int m, int splits)
{
    Mat M = make(n, k, fmt == 3 ? 2 : fmt, group);   // W8A8 runs on f8 tiles
    bf16_t *x, *w;
    float *y, *r, *xs;
    unsigned char* xq;
    CK(cudaMalloc(&x, (size_t)m * k * 2)); CK(cudaMalloc(&w, (size_t)n * k * 2));
    CK(cudaMalloc(&y, (size_t)m * n * 4)); CK(cudaMalloc(&r, (size_t)m * n * 4));
    CK(cudaMalloc(&xq, (size_t)m * k)); CK(cudaMalloc(&xs, (size_t)m * (k / 128) * 4));
    randomBf16(x, (size_t)m * k, 2.0f);
    g_forceSplits = splits;
    const char* name = kNames[fmt];
    if (fmt == 3)
    {
        M.fmt = 2;
        dequant(M, w, true);
        int rows = m, kk = k, grp = 128;
        void* qa[] = {&x, &rows, &kk, &grp, &xq, &xs};
        long long warps = (long long)m * (k / 128);
        CK(cudaLaunchKernel((void*)fp8_act_quant, dim3((unsigned)((warps * 32 + 255) / 256)), dim3(256), qa, 0, 0));
        ref_w8a8<<<dim3((n + 127) / 128, m), 128>>>(w, (const float*)M.params, 128, (k + 127) / 128, xq, xs, n, k, 128, m, r);
        gemm<3>(&M, 1, xq, xs, m, y, n, 1, 0);
    }
    else
    {
        dequant(M, w, false);
        ref_gemm<<<dim3((n + 127) / 128, m), 128>>>(w, x, n, k, m, r);
        if (fmt == 0) gemm<0>(&M, 1, x, nullptr, m, y, n, 1, 0);
        else if (fmt == 1) gemm<1>(&M, 1, x, nullptr, m, y, n, 1, 0);
        else gemm<2>(&M, 1, x, nullptr, m, y, n, 1, 0);
    }
    CK(cudaDeviceSynchronize());
    double e = maxRelErr(r, y, (size_t)m * n);
    // g4/g8/f8 round each weight (times its scale) to bf16 as the dequantize kernel does, possibly on the other side.
    double tol = fmt == 3 ? 1e-5 : 2e-2;
    bool ok = e <= tol;
    if (!ok) g_failures++;
    printf("%s %s group %d n=%d k=%d m=%d splits=%d: max err / max |y| = %.3g\n", ok ? "PASS" : "FAIL", name, group, n, k, m, splits, e);
    g_forceSplits = 0;
    cudaFree(x); cudaFree(w); cudaFree(y); cudaFree(r); cudaFree(xq); cudaFree(xs);
    cudaFree(M.data); cudaFree(M.params); if (M.ones) cudaFree(M.ones);
}

#include "gemm_quant_timing.inc"

int main()
{
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    g_sms = prop.multiProcessorCount;
    printf("%s, %d SMs, sm_%d%d\n", prop.name, g_sms, prop.major, prop.minor);
    CK(cudaMalloc(&g_partials, kPartialFloats * 4));
    CK(cudaMalloc(&g_counters, 1 << 20));
    CK(cudaMemset(g_counters, 0, 1 << 20));
    srand(7);
    // Correctness: partial tiles (n = 200), one and several splits, both column tiles, m past a chunk.
    for (int fmt = 0; fmt < 3; fmt++)
        for (int m : {17, 40, 64, 100})
            for (int splits : {1, 3})
                checkOne(fmt, fmt == 1 ? 32 : 128, 200, 1024, m, splits);
    checkOne(0, 32, 1000, 2048, 33, 0);
    checkOne(1, 16, 1000, 2048, 64, 0);
    if (prop.major * 10 + prop.minor >= 89)
        for (int m : {1, 33, 64, 300})
            for (int splits : {1, 2}) checkOne(3, 128, 456, 1024, m, splits);
    printf("correctness: %d failed\n", g_failures);
    timing();
    return g_failures ? 1 : 0;
}
