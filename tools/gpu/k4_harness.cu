// Issue 8, session 10 (branch k4b): timing harness for the compact Q4_K (K4) decode GEMV, compiled ON THE GPU MACHINE by
// k4b_run.sh (cat common.cu kquant4.cuh gemv_kquant6.cu gemv_kquant4.cu k4_harness.cu). At Qwen3-14B's four Q4_K layer
// shapes (q|k|v all Q4_K, o, gate|up + SiLU, down), m = 1 and 8: main's kernels (gemv_k4_stream, its 8-warp down,
// gemv_silu_k4_stream) against gemv_kquant4.cu's (warps W, stage buffers D) with k4_compute_fast. Checks every variant
// against main's kernel of the same W (m = 1, 3, 8; f32 out; the SiLU launch's bf16), bit for bit. Then times
// each launch and whole layers (and again with a small PDL kernel between the linears), main against the per-shape
// fastest. PDL launches as the backend makes on sm_90; 8 copies of each linear replayed from a CUDA graph (L2 holds none).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

__global__ void kh_fill(unsigned int* p, size_t words, unsigned int seed, int kind)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x)
    {
        unsigned int h = (unsigned int)(i * 2654435761ull) ^ seed ^ (unsigned int)(i >> 32) * 0x27d4eb2du;
        h ^= h >> 15; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
        unsigned int v;
        if (kind == 0) v = h;   // nibbles
        else if (kind == 1)     // K4 params: 80 words a (tile, super-block): 64 of 6-bit scale/min bytes, 16 of (f16 d, f16 dmin)
            v = (i % 80) < 64 ? (h & 0x3F3F3F3Fu) : ((0x1C00u | (h & 0x3FFu)) | ((0x1800u | ((h >> 10) & 0x3FFu)) << 16));
        else v = (0x3F00u | (h & 0x7Fu) | (h & 0x8000u)) | ((0x3F00u | ((h >> 16) & 0x7Fu) | ((h << 8) & 0x8000u)) << 16);   // bf16 ±[0.5, 1)
        p[i] = v;
    }
}

__global__ void kh_glue(const bf16_t* x, bf16_t* y, int k)
{
    HEARTH_PDL_LAUNCH();
    HEARTH_PDL_WAIT();
    float sum = 0.0f;
    for (int i = threadIdx.x; i < k; i += blockDim.x) sum += bf16_to_f32(x[(size_t)blockIdx.x * k + i]);
    for (int i = threadIdx.x; i < k; i += blockDim.x) y[(size_t)blockIdx.x * k + i] = f32_to_bf16(sum * 1e-3f + bf16_to_f32(x[(size_t)blockIdx.x * k + i]));
}

static void fill(void* p, size_t bytes, unsigned int seed, int kind)
{
    kh_fill<<<1024, 256>>>((unsigned int*)p, bytes / 4, seed, kind);
    CK(cudaGetLastError());
}

struct Part { void* data; void* params; int n; };
struct Linear { Part parts[3]; int count, k, rows, tiles; double bytes; };

static Linear make_linear(const int* ns, int count, int k, unsigned int& seed)
{
    Linear l{};
    l.count = count; l.k = k;
    for (int i = 0; i < count; i++)
    {
        Part& p = l.parts[i];
        p.n = ns[i];
        size_t tiles = (ns[i] + 15) / 16, dataBytes = tiles * 8ull * k, paramBytes = tiles * (k / 256) * 320ull;
        CK(cudaMalloc(&p.data, dataBytes));
        CK(cudaMalloc(&p.params, paramBytes));
        fill(p.data, dataBytes, seed++, 0);
        fill(p.params, paramBytes, seed++ ^ 0x9e3779b9u, 1);
        l.bytes += dataBytes + paramBytes;
        l.rows += ns[i];
        l.tiles += (int)tiles;
    }
    return l;
}

typedef void (*PlainKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int,
    const bf16_t*, int, void*, long long, int);
typedef void (*SiluKernel)(const uint4*, const void*, const uint4*, const void*, int, int, const bf16_t*, int, bf16_t*);
typedef void (*NewKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int,
    const bf16_t*, int, void*, long long, int, int);

struct Variant { const char* name; NewKernel kernel; int warps; };

static cudaLaunchConfig_t config(int blocks, int threads, size_t smem, cudaStream_t s, cudaLaunchAttribute* attribute)
{
    cudaLaunchConfig_t c = {};
    c.gridDim = dim3(blocks);
    c.blockDim = dim3(threads);
    c.dynamicSmemBytes = smem;
    c.stream = s;
    attribute->id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute->val.programmaticStreamSerializationAllowed = 1;
    c.attrs = attribute;
    c.numAttrs = 1;
    return c;
}

static cudaStream_t g_s; static bf16_t* g_x; static bf16_t* g_glueOut; static void* g_outA; static void* g_outB; static int g_sms;

// main's choice: 8 warps for few tiles and a long k at 1-4 rows (K4WarpsFor), unless forceW4.
// fast: the same kernels with k4_compute_fast (gemv_k4_stream_fast, gemv_k4_stream_w8_fast, gemv_silu_k4_stream_fast).
static void launch_old(const Linear& l, bool silu, const bf16_t* x, int m, void* out, int outF32, int forceWarps = 0, bool fast = false)
{
    cudaLaunchAttribute attribute;
    const Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    if (silu)
    {
        cudaLaunchConfig_t cfg = config((a.n + 15) / 16, 128, 0, g_s, &attribute);
        CK(cudaLaunchKernelEx(&cfg, fast ? (SiluKernel)gemv_silu_k4_stream_fast : (SiluKernel)gemv_silu_k4_stream, (const uint4*)a.data, (const void*)a.params, (const uint4*)b.data,
            (const void*)b.params, a.n, l.k, x, m, (bf16_t*)out));
        return;
    }
    bool w8 = forceWarps ? forceWarps == 8 : l.tiles <= 4 * g_sms && l.k >= 8192 && m <= 4;
    cudaLaunchConfig_t cfg = config(l.tiles, w8 ? 256 : 128, 0, g_s, &attribute);
    PlainKernel kernel = w8 ? (fast ? (PlainKernel)gemv_k4_stream_w8_fast : (PlainKernel)gemv_k4_stream_w8)
        : (fast ? (PlainKernel)gemv_k4_stream_fast : (PlainKernel)gemv_k4_stream);
    CK(cudaLaunchKernelEx(&cfg, kernel, (const uint4*)a.data, (const void*)a.params,
        a.n, (const uint4*)b.data, (const void*)b.params, b.n, (const uint4*)c.data, (const void*)c.params, c.n, l.k, x, m, out,
        (long long)l.rows, outF32));
}

static void launch_new(const Variant& v, const Linear& l, bool silu, const bf16_t* x, int m, void* out, int outF32)
{
    cudaLaunchAttribute attribute;
    const Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    int grid = silu ? (a.n + 15) / 16 : l.tiles;
    cudaLaunchConfig_t cfg = config(grid, 32 * v.warps, 0, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, v.kernel, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, x, m, out, silu ? (long long)a.n : (long long)l.rows, silu ? 0 : outF32, silu ? 1 : 0));
}

typedef void (*MixedKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int,
    const bf16_t*, int, void*, long long, int);

// main's streaming loop with k4_compute (gemv_k4g6_stream) or k4_compute_fast (_fast), all parts K4 (g6Mask 0), W = 4:
// what the per-stage instructions alone are worth.
static void launch_mixed(bool fast, const Linear& l, const bf16_t* x, int m, void* out, int outF32)
{
    cudaLaunchAttribute attribute;
    const Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchConfig_t cfg = config(l.tiles, 128, 0, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, fast ? (MixedKernel)gemv_k4g6_stream_fast : (MixedKernel)gemv_k4g6_stream, (const uint4*)a.data,
        (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n, (const uint4*)c.data, (const void*)c.params, c.n, l.k, 0,
        x, m, out, (long long)l.rows, outF32));
}

static void glue(int m, int k)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(m, 256, 0, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, kh_glue, (const bf16_t*)g_x, g_glueOut, k));
}

template <typename F>
static double time_graph(int layers, F enqueue)
{
    const int Replays = 20;
    cudaGraph_t graph; cudaGraphExec_t exec;
    CK(cudaStreamBeginCapture(g_s, cudaStreamCaptureModeGlobal));
    for (int l = 0; l < layers; l++) enqueue(l);
    CK(cudaStreamEndCapture(g_s, &graph));
    CK(cudaGraphInstantiate(&exec, graph, 0));
    CK(cudaGraphLaunch(exec, g_s));
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    CK(cudaEventRecord(e0, g_s));
    for (int r = 0; r < Replays; r++) CK(cudaGraphLaunch(exec, g_s));
    CK(cudaEventRecord(e1, g_s)); CK(cudaEventSynchronize(e1));
    float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
    CK(cudaGraphExecDestroy(exec)); CK(cudaGraphDestroy(graph));
    CK(cudaEventDestroy(e0)); CK(cudaEventDestroy(e1));
    return ms * 1e3 / Replays / layers;
}

static int g_mismatches = 0;

static void check(const Variant& v, const Linear& l, bool silu, const char* label)
{
    for (int m : { 1, 3, 8 })
    {
        size_t count = (size_t)m * (silu ? l.parts[0].n : l.rows), bytes = count * (silu ? 2 : 4);
        CK(cudaMemset(g_outA, 0, bytes));
        CK(cudaMemset(g_outB, 0xFF, bytes));
        launch_old(l, silu, g_x, m, g_outA, 1, v.warps);
        launch_new(v, l, silu, g_x, m, g_outB, 1);
        CK(cudaStreamSynchronize(g_s));
        CK(cudaGetLastError());
        std::vector<unsigned char> a(bytes), b(bytes);
        CK(cudaMemcpy(a.data(), g_outA, bytes, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(b.data(), g_outB, bytes, cudaMemcpyDeviceToHost));
        size_t differ = 0; double maxRef = 0, maxDiff = 0;
        for (size_t i = 0; i < count; i++)
        {
            float x, y;
            if (silu) { unsigned int ua = (unsigned int)((bf16_t*)a.data())[i] << 16, ub = (unsigned int)((bf16_t*)b.data())[i] << 16; memcpy(&x, &ua, 4); memcpy(&y, &ub, 4); }
            else { x = ((float*)a.data())[i]; y = ((float*)b.data())[i]; }
            if (memcmp(&x, &y, 4) != 0) differ++;
            maxRef = fmax(maxRef, fabs(x));
            double d = fabs((double)x - y);
            if (!(d <= maxDiff)) maxDiff = d;
        }
        double rel = maxDiff / (maxRef > 0 ? maxRef : 1);
        bool ok = differ == 0;
        printf("  check %-8s %s m=%d: %zu of %zu differ, max rel %.3g%s\n", label, v.name, m, differ, count, rel, ok ? "" : "  MISMATCH");
        if (!ok) g_mismatches++;
    }
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, NL = 8;
    CK(cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaMalloc(&g_glueOut, 8ull * I * 2));
    CK(cudaMalloc(&g_x, 8ull * I * 2));
    CK(cudaMalloc(&g_outA, 8ull * 2 * I * 4));
    CK(cudaMalloc(&g_outB, 8ull * 2 * I * 4));
    fill(g_x, 8ull * I * 2, 77, 2);
    CK(cudaStreamCreate(&g_s));
    Variant variants[] = { { "w4d2", gemv_k4n_w4d2, 4 }, { "w4d3", gemv_k4n_w4d3, 4 }, { "w8d2", gemv_k4n_w8d2, 8 } };
    const int NV = sizeof(variants) / sizeof(variants[0]);
    for (const Variant& v : variants)
    {
        int perSm; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, v.kernel, 32 * v.warps, 0));
        cudaFuncAttributes fa; CK(cudaFuncGetAttributes(&fa, v.kernel));
        printf("variant %s: %d blocks an SM, %d registers, %zu bytes local\n", v.name, perSm, fa.numRegs, fa.localSizeBytes);
    }
    {
        cudaFuncAttributes fa; CK(cudaFuncGetAttributes(&fa, gemv_k4_stream));
        printf("main gemv_k4_stream: %d registers, %zu bytes local\n", fa.numRegs, fa.localSizeBytes);
    }
    std::vector<Linear> qkv, o, gu, down;
    unsigned int seed = 1;
    for (int l = 0; l < NL; l++)
    {
        int nq[3] = { H, KV, KV }, no[1] = { H }, ng[2] = { I, I };
        qkv.push_back(make_linear(nq, 3, H, seed)); o.push_back(make_linear(no, 1, H, seed));
        gu.push_back(make_linear(ng, 2, H, seed)); down.push_back(make_linear(no, 1, I, seed));
    }
    int n1[1] = { 200 }, n3[3] = { 160, 72, 41 }, n2[2] = { 200, 200 };
    Linear odd1 = make_linear(n1, 1, 1024, seed), odd3 = make_linear(n3, 3, H, seed), odd2 = make_linear(n2, 2, I, seed);
    CK(cudaDeviceSynchronize());
    printf("MB qkv %.1f o %.1f gate|up %.1f down %.1f\n", qkv[0].bytes / 1e6, o[0].bytes / 1e6, gu[0].bytes / 1e6, down[0].bytes / 1e6);
    std::vector<Linear>* shapes[4] = { &qkv, &o, &gu, &down };
    const char* names[4] = { "qkv", "o", "gate|up", "down" };
    for (const Variant& v : variants)
    {
        for (int si = 0; si < 4; si++) if (si != 2 || v.warps == 4) check(v, (*shapes[si])[0], si == 2, names[si]);
        check(v, odd1, false, "odd n"); check(v, odd3, false, "odd qkv");
        if (v.warps == 4) check(v, odd2, true, "odd silu");
    }
    // main's kernels with k4_compute_fast, and gemv_k4g6_stream_fast on all-K4 parts, against main bit for bit
    for (const Linear* l : { &qkv[0], &o[0], &down[0], &odd3, &gu[0], &odd2 })
        for (int m : { 1, 3, 8 })
            for (int kind = 0; kind < 4; kind++)
            {
                bool silu = l->count == 2;
                if (silu && kind != 0) continue;
                size_t bytes = (size_t)m * (silu ? l->parts[0].n * 2 : l->rows * 4);
                CK(cudaMemset(g_outA, 0, bytes)); CK(cudaMemset(g_outB, 0xFF, bytes));
                int warps = kind == 1 ? 8 : 4;
                launch_old(*l, silu, g_x, m, g_outA, 1, warps);
                if (kind == 2) launch_mixed(true, *l, g_x, m, g_outB, 1);
                else launch_old(*l, silu, g_x, m, g_outB, 1, warps, true);
                CK(cudaStreamSynchronize(g_s));
                std::vector<unsigned char> a(bytes), b(bytes);
                CK(cudaMemcpy(a.data(), g_outA, bytes, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(b.data(), g_outB, bytes, cudaMemcpyDeviceToHost));
                if (memcmp(a.data(), b.data(), bytes) != 0) { printf("  MISMATCH fast kind %d n=%d m=%d\n", kind, l->rows, m); g_mismatches++; }
            }
    printf("checks: %d mismatches\n", g_mismatches);
    for (int m : { 1, 8 })
    {
        int bestV[4];
        double oldUs[4], bestUs[4];
        for (int si = 0; si < 4; si++)
        {
            const std::vector<Linear>& copies = *shapes[si];
            bool silu = si == 2;
            double bytes = copies[0].bytes;
            for (int round = 0; round < 2; round++)
            {
                oldUs[si] = time_graph(NL, [&](int c) { launch_old(copies[c], silu, g_x, m, g_outA, 0); });
                printf("%-8s m=%d main %6.2f us %5.0f GB/s |", names[si], m, oldUs[si], bytes / (oldUs[si] * 1e-6) / 1e9);
                bestUs[si] = 1e30; bestV[si] = 0;
                for (int vi = 0; vi < NV; vi++)
                {
                    if (silu && variants[vi].warps != 4) continue;
                    double us = time_graph(NL, [&](int c) { launch_new(variants[vi], copies[c], silu, g_x, m, g_outA, 0); });
                    printf(" %s %.2f (%.0f)", variants[vi].name, us, bytes / (us * 1e-6) / 1e9);
                    if (us < bestUs[si]) { bestUs[si] = us; bestV[si] = vi; }
                }
                {
                    double us = time_graph(NL, [&](int c) { launch_old(copies[c], silu, g_x, m, g_outA, 0, 0, true); });
                    printf(" mainfast %.2f (%.0f)", us, bytes / (us * 1e-6) / 1e9);
                    if (us < bestUs[si]) { bestUs[si] = us; bestV[si] = -1; }
                }
                printf("\n");
            }
            printf("  best %s %s %.2f us (%.0f GB/s) vs main %.2f\n", names[si], bestV[si] < 0 ? "mainfast" : variants[bestV[si]].name, bestUs[si],
                bytes / (bestUs[si] * 1e-6) / 1e9, oldUs[si]);
        }
        double layerBytes = qkv[0].bytes + o[0].bytes + gu[0].bytes + down[0].bytes;
        for (int withGlue = 0; withGlue < 2; withGlue++)
            for (int pick = -1; pick < 2 + NV; pick++)
            {
                auto layer = [&](int l) {
                    for (int si = 0; si < 4; si++)
                    {
                        if (withGlue && si != 3) glue(m, H);
                        const Linear& lin = (*shapes[si])[l];
                        if (pick <= 0) launch_old(lin, si == 2, g_x, m, g_outA, 0, 0, pick < 0);
                        else if (pick == 1 && bestV[si] < 0) launch_old(lin, si == 2, g_x, m, g_outA, 0, 0, true);
                        else
                        {
                            int vi = pick == 1 ? bestV[si] : pick - 2;
                            if (si == 2 && variants[vi].warps != 4) vi = 0;
                            launch_new(variants[vi], lin, si == 2, g_x, m, g_outA, 0);
                        }
                    }
                    if (withGlue) glue(m, H);
                };
                double us = time_graph(NL, layer);
                printf("LAYER%s m=%d %s: %7.2f us (%5.0f GB/s)\n", withGlue ? "+GLUE" : "", m,
                    pick < 0 ? "mainfast" : pick == 0 ? "main" : pick == 1 ? "per-shape best" : variants[pick - 2].name, us, layerBytes / (us * 1e-6) / 1e9);
            }
    }
    printf("done, %d mismatches\n", g_mismatches);
    return g_mismatches != 0;
}
