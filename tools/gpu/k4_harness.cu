// Issue 8, session 11 (branch g6d): timing harness for the compact GGUF decode kernels, compiled ON THE GPU MACHINE by
// g6d_run.sh (cat common.cu kquant4.cuh gemv_kquant6.cu gemv_kquant4.cu k4_harness.cu; kquant6.cuh comes in by
// #include). (Session 10's K4-only form of this file is in git history, commit 98bc21d.) At Qwen3-14B's shapes, m = 1
// and 8: the Q6_K ffn_down (g6), Q4_K_M's K4|K4|G6 q|k|v, the Q6_K lm_head, and the K4 gate|up + SiLU; session 10's
// kernels against this session's (two-LOP3 G6 operands, unpredicated x, the stream over a tile range a block) and
// harness-only forms (CONV 1: scales and mins by PRMT + FADD instead of a conversion instruction). Every variant is
// checked bit for bit against its shape's reference at m = 1, 3, 8 (f32 out; the SiLU launch's bf16), except the 8-warp
// down, which sums k in another order. Then times each launch, and a Q6_K layer's three changed linears with a small PDL
// kernel between them. PDL launches as the backend makes on sm_90; NL copies of each linear replayed from a CUDA graph.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

// Harness-only forms: the scales' and mins' conversions by PRMT + FADD.
KQM_KERNEL(h_g6m_w4d3_c1, 4, 3, 3, true, 1)
KQM_KERNEL(h_k4m_w4d3_c1, 4, 3, 3, false, 1)

__global__ void kh_fill(unsigned int* p, size_t words, unsigned int seed, int kind)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x)
    {
        unsigned int h = (unsigned int)(i * 2654435761ull) ^ seed ^ (unsigned int)(i >> 32) * 0x27d4eb2du;
        h ^= h >> 15; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
        unsigned int f16 = (0x1C00u | (h & 0x3FFu)) | ((0x1800u | ((h >> 10) & 0x3FFu)) << 16), v;
        if (kind == 0) v = h;                                        // nibbles, 2-bit planes
        else if (kind == 1) v = (i % 80) < 64 ? (h & 0x3F3F3F3Fu) : f16;   // K4 params: 6-bit scales/mins, then (d, dmin)
        else if (kind == 3) v = (i % 72) < 64 ? h : f16 & 0x3FFF3FFFu;     // G6 params: int8 scales, then f16 d
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
struct Linear { Part parts[3]; int count, k, rows, tiles, g6Mask; double bytes; };

// g6Mask bit i: part i is G6 (compact Q6_K), else K4 (compact Q4_K).
static Linear make_linear(const int* ns, int count, int k, int g6Mask, unsigned int& seed)
{
    Linear l{};
    l.count = count; l.k = k; l.g6Mask = g6Mask;
    for (int i = 0; i < count; i++)
    {
        bool g6 = (g6Mask >> i) & 1;
        Part& p = l.parts[i];
        p.n = ns[i];
        size_t tiles = (ns[i] + 15) / 16, dataBytes = tiles * (g6 ? 12ull : 8ull) * k, paramBytes = tiles * (k / 256) * (g6 ? 288ull : 320ull);
        CK(cudaMalloc(&p.data, dataBytes));
        CK(cudaMalloc(&p.params, paramBytes));
        fill(p.data, dataBytes, seed++, 0);
        fill(p.params, paramBytes, seed++ ^ 0x9e3779b9u, g6 ? 3 : 1);
        l.bytes += dataBytes + paramBytes;
        l.rows += ns[i];
        l.tiles += (int)tiles;
    }
    return l;
}

typedef void (*PlainKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int,
    const bf16_t*, int, void*, long long, int);
typedef void (*SiluKernel)(const uint4*, const void*, const uint4*, const void*, int, int, const bf16_t*, int, bf16_t*);
typedef void (*StreamKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int,
    const bf16_t*, int, void*, long long, int, int);
typedef void (*MixedKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int,
    const bf16_t*, int, void*, long long, int);

static cudaLaunchConfig_t config(int blocks, int threads, cudaStream_t s, cudaLaunchAttribute* attribute)
{
    cudaLaunchConfig_t c = {};
    c.gridDim = dim3(blocks);
    c.blockDim = dim3(threads);
    c.stream = s;
    attribute->id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute->val.programmaticStreamSerializationAllowed = 1;
    c.attrs = attribute;
    c.numAttrs = 1;
    return c;
}

static cudaStream_t g_s; static bf16_t* g_x; static bf16_t* g_glueOut; static void* g_outA; static void* g_outB; static int g_sms;

#define KH_PARTS(l) const Part e{nullptr, nullptr, 0}; const Part& a = (l).parts[0]; const Part& b = (l).count > 1 ? (l).parts[1] : e; \
    const Part& c = (l).count > 2 ? (l).parts[2] : e; cudaLaunchAttribute attribute

static void launch_plain(PlainKernel f, int warps, const Linear& l, int m, void* out, int outF32)
{
    KH_PARTS(l);
    cudaLaunchConfig_t cfg = config(l.tiles, 32 * warps, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, f, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, (const bf16_t*)g_x, m, out, (long long)l.rows, outF32));
}

static void launch_silu(SiluKernel f, const Linear& l, int m, void* out)
{
    KH_PARTS(l);
    (void)c;
    cudaLaunchConfig_t cfg = config((a.n + 15) / 16, 128, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, f, (const uint4*)a.data, (const void*)a.params, (const uint4*)b.data, (const void*)b.params, a.n, l.k,
        (const bf16_t*)g_x, m, (bf16_t*)out));
}

static long long balanced(long long tiles, long long slots)
{
    long long rounds = (tiles + slots - 1) / slots;
    return (tiles + rounds - 1) / rounds;
}

// perSm 0: one block a tile; else the balanced grid of perSm blocks an SM (CudaQuantG6Decode.BalancedBlocks).
static void launch_stream(StreamKernel f, int perSm, bool silu, const Linear& l, int m, void* out, int outF32)
{
    KH_PARTS(l);
    int tiles = silu ? (a.n + 15) / 16 : l.tiles;
    cudaLaunchConfig_t cfg = config(perSm ? (int)balanced(tiles, (long long)perSm * g_sms) : tiles, 128, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, f, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, (const bf16_t*)g_x, m, out, silu ? (long long)a.n : (long long)l.rows,
        silu ? 0 : outF32, silu ? 1 : 0));
}

static void launch_mixed(MixedKernel f, const Linear& l, int m, void* out, int outF32)
{
    KH_PARTS(l);
    cudaLaunchConfig_t cfg = config(l.tiles, 128, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, f, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, l.g6Mask, (const bf16_t*)g_x, m, out, (long long)l.rows, outF32));
}

static void glue(int m, int k)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(m, 256, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, kh_glue, (const bf16_t*)g_x, g_glueOut, k));
}

typedef std::function<void(const Linear&, int, void*, int)> Launch;
struct Op { const char* name; Launch launch; bool exact; };

template <typename F>
static double time_graph(int copies, F enqueue)
{
    const int Replays = 20;
    cudaGraph_t graph; cudaGraphExec_t exec;
    CK(cudaStreamBeginCapture(g_s, cudaStreamCaptureModeGlobal));
    for (int l = 0; l < copies; l++) enqueue(l);
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
    return ms * 1e3 / Replays / copies;
}

static int g_mismatches = 0;

// ops[0] is the reference; silu: bf16 [m, gate n] out, else f32 [m, rows].
static void check(const std::vector<Op>& ops, const Linear& l, bool silu, const char* label, int maxM)
{
    for (int m : { 1, 3, 8 })
    {
        if (m > maxM) continue;
        size_t count = (size_t)m * (silu ? l.parts[0].n : l.rows), bytes = count * (silu ? 2 : 4);
        CK(cudaMemset(g_outA, 0, bytes));
        ops[0].launch(l, m, g_outA, 1);
        CK(cudaStreamSynchronize(g_s));
        std::vector<unsigned char> ref(bytes), got(bytes);
        CK(cudaMemcpy(ref.data(), g_outA, bytes, cudaMemcpyDeviceToHost));
        for (size_t v = 1; v < ops.size(); v++)
        {
            CK(cudaMemset(g_outB, 0xFF, bytes));
            ops[v].launch(l, m, g_outB, 1);
            CK(cudaStreamSynchronize(g_s));
            CK(cudaGetLastError());
            CK(cudaMemcpy(got.data(), g_outB, bytes, cudaMemcpyDeviceToHost));
            size_t differ = 0; double maxRef = 0, maxDiff = 0;
            for (size_t i = 0; i < count; i++)
            {
                float x, y;
                if (silu) { unsigned int ua = (unsigned int)((bf16_t*)ref.data())[i] << 16, ub = (unsigned int)((bf16_t*)got.data())[i] << 16; memcpy(&x, &ua, 4); memcpy(&y, &ub, 4); }
                else { memcpy(&x, ref.data() + 4 * i, 4); memcpy(&y, got.data() + 4 * i, 4); }
                if (memcmp(&x, &y, 4) != 0) differ++;
                maxRef = fmax(maxRef, fabs(x));
                double d = fabs((double)x - y);
                if (!(d <= maxDiff)) maxDiff = d;
            }
            bool ok = ops[v].exact ? differ == 0 : maxDiff <= 1e-3 * (maxRef > 0 ? maxRef : 1);
            printf("  check %-8s %-10s m=%d: %zu of %zu differ from %s, max rel %.3g%s\n", label, ops[v].name, m, differ, count, ops[0].name,
                maxDiff / (maxRef > 0 ? maxRef : 1), ok ? "" : "  MISMATCH");
            if (!ok) g_mismatches++;
        }
    }
}

static void time_ops(const std::vector<Op>& ops, const std::vector<Linear>& copies, const char* label, const std::vector<int>& ms)
{
    for (int m : ms)
        for (int round = 0; round < 2; round++)
        {
            printf("%-8s m=%d r%d |", label, m, round);
            for (const Op& op : ops)
            {
                double us = time_graph((int)copies.size(), [&](int c) { op.launch(copies[c], m, g_outA, 0); });
                printf(" %s %.2f (%.0f)", op.name, us, copies[0].bytes / (us * 1e-6) / 1e9);
            }
            printf("\n");
        }
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, V = 151936, NL = 8;
    CK(cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaMalloc(&g_glueOut, 8ull * I * 2));
    CK(cudaMalloc(&g_x, 8ull * I * 2));
    CK(cudaMalloc(&g_outA, 8ull * V * 4));
    CK(cudaMalloc(&g_outB, 8ull * V * 4));
    fill(g_x, 8ull * I * 2, 77, 2);
    CK(cudaStreamCreate(&g_s));
    struct { const char* name; const void* f; int threads; } kernels[] = { { "gemv_g6_stream", (const void*)gemv_g6_stream, 128 },
        { "gemv_g6_stream_fast", (const void*)gemv_g6_stream_fast, 128 }, { "gemv_g6m_w4d3", (const void*)gemv_g6m_w4d3, 128 },
        { "gemv_g6m_w4d2", (const void*)gemv_g6m_w4d2, 128 }, { "h_g6m_w4d3_c1", (const void*)h_g6m_w4d3_c1, 128 },
        { "gemv_k4n_w4d2", (const void*)gemv_k4n_w4d2, 128 }, { "gemv_k4m_w4d3", (const void*)gemv_k4m_w4d3, 128 },
        { "gemv_k4m_w4d2", (const void*)gemv_k4m_w4d2, 128 }, { "h_k4m_w4d3_c1", (const void*)h_k4m_w4d3_c1, 128 } };
    for (auto& kd : kernels)
    {
        int perSm; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kd.f, kd.threads, 0));
        cudaFuncAttributes fa; CK(cudaFuncGetAttributes(&fa, kd.f));
        printf("kernel %s: %d blocks an SM, %d registers, %zu bytes local\n", kd.name, perSm, fa.numRegs, fa.localSizeBytes);
    }
    std::vector<Linear> down, qkv, gu, head;
    unsigned int seed = 1;
    for (int l = 0; l < NL; l++)
    {
        int no[1] = { H }, nq[3] = { H, KV, KV }, ng[2] = { I, I };
        down.push_back(make_linear(no, 1, I, 1, seed));
        qkv.push_back(make_linear(nq, 3, H, 4, seed));
        gu.push_back(make_linear(ng, 2, H, 0, seed));
    }
    for (int l = 0; l < 2; l++) { int nv[1] = { V }; head.push_back(make_linear(nv, 1, H, 1, seed)); }
    int n1[1] = { 200 }, n3[3] = { 160, 72, 41 }, n2[2] = { 200, 200 };
    Linear oddG6 = make_linear(n1, 1, 512, 1, seed), oddMix = make_linear(n3, 3, 1024, 2, seed), oddGu = make_linear(n2, 2, 1024, 0, seed);
    Linear oddG6k = make_linear(n1, 1, I, 1, seed);
    CK(cudaDeviceSynchronize());
    printf("MB down %.1f qkv %.1f gate|up %.1f lm_head %.1f\n", down[0].bytes / 1e6, qkv[0].bytes / 1e6, gu[0].bytes / 1e6, head[0].bytes / 1e6);
    const int m3 = 3, m2 = 4;   // blocks an SM of the balanced grids
    printf("balanced grids: gate|up %lld (3 an SM) %lld (4), lm_head %lld / %lld\n", balanced(I / 16, 3LL * g_sms), balanced(I / 16, 4LL * g_sms),
        balanced(V / 16, 3LL * g_sms), balanced(V / 16, 4LL * g_sms));
    std::vector<Op> downOps = {
        { "main4", [](const Linear& l, int m, void* o, int f) { launch_plain(gemv_g6_stream, 4, l, m, o, f); }, true },
        { "main8", [](const Linear& l, int m, void* o, int f) { launch_plain(gemv_g6_stream_w8, 8, l, m, o, f); }, false },
        { "s4fast", [](const Linear& l, int m, void* o, int f) { launch_plain(gemv_g6_stream_fast, 4, l, m, o, f); }, true },
        { "d3", [](const Linear& l, int m, void* o, int f) { launch_stream(gemv_g6m_w4d3, 0, false, l, m, o, f); }, true },
        { "d2", [](const Linear& l, int m, void* o, int f) { launch_stream(gemv_g6m_w4d2, 0, false, l, m, o, f); }, true },
        { "d3c1", [](const Linear& l, int m, void* o, int f) { launch_stream(h_g6m_w4d3_c1, 0, false, l, m, o, f); }, true } };
    std::vector<Op> headOps = {
        { "main4", [](const Linear& l, int m, void* o, int f) { launch_plain(gemv_g6_stream, 4, l, m, o, f); }, true },
        { "s4fast", [](const Linear& l, int m, void* o, int f) { launch_plain(gemv_g6_stream_fast, 4, l, m, o, f); }, true },
        { "m3", [=](const Linear& l, int m, void* o, int f) { launch_stream(gemv_g6m_w4d3, m3, false, l, m, o, f); }, true },
        { "m2", [=](const Linear& l, int m, void* o, int f) { launch_stream(gemv_g6m_w4d2, m2, false, l, m, o, f); }, true },
        { "m3c1", [=](const Linear& l, int m, void* o, int f) { launch_stream(h_g6m_w4d3_c1, m3, false, l, m, o, f); }, true } };
    std::vector<Op> qkvOps = {
        { "k4fast", [](const Linear& l, int m, void* o, int f) { launch_mixed(gemv_k4g6_stream_fast, l, m, o, f); }, true },
        { "main", [](const Linear& l, int m, void* o, int f) { launch_mixed(gemv_k4g6_stream, l, m, o, f); }, true },
        { "both", [](const Linear& l, int m, void* o, int f) { launch_mixed(gemv_k4g6_stream_fast_g6f, l, m, o, f); }, true } };
    std::vector<Op> guOps = {
        { "main", [](const Linear& l, int m, void* o, int) { launch_silu(gemv_silu_k4_stream, l, m, o); }, true },
        { "s10w4d2", [](const Linear& l, int m, void* o, int) { launch_stream(gemv_k4n_w4d2, 0, true, l, m, o, 0); }, true },
        { "s10s4", [](const Linear& l, int m, void* o, int) { launch_silu(gemv_silu_k4_stream_fast, l, m, o); }, true },
        { "m3", [=](const Linear& l, int m, void* o, int) { launch_stream(gemv_k4m_w4d3, m3, true, l, m, o, 0); }, true },
        { "m2", [=](const Linear& l, int m, void* o, int) { launch_stream(gemv_k4m_w4d2, m2, true, l, m, o, 0); }, true },
        { "m3c1", [=](const Linear& l, int m, void* o, int) { launch_stream(h_k4m_w4d3_c1, m3, true, l, m, o, 0); }, true },
        { "d3one", [](const Linear& l, int m, void* o, int) { launch_stream(gemv_k4m_w4d3, 0, true, l, m, o, 0); }, true } };
    check(downOps, down[0], false, "down", 8); check(downOps, oddG6, false, "odd g6", 8); check(downOps, oddG6k, false, "odd g6 k", 8);
    check(headOps, head[0], false, "lm_head", 3);
    check(qkvOps, qkv[0], false, "qkv", 8); check(qkvOps, oddMix, false, "odd mix", 8);
    check(guOps, gu[0], true, "gate|up", 8); check(guOps, oddGu, true, "odd silu", 8);
    printf("checks: %d mismatches\n", g_mismatches);
    time_ops(downOps, down, "down", { 1, 8 });
    time_ops(qkvOps, qkv, "qkv", { 1, 8 });
    time_ops(guOps, gu, "gate|up", { 1, 8 });
    time_ops(headOps, head, "lm_head", { 1 });
    // A Q6_K layer's changed linears (q|k|v, gate|up + SiLU, down) with a small PDL kernel before each: session 10's
    // defaults against this session's.
    for (int m : { 1, 8 })
        for (int round = 0; round < 2; round++)
            for (int pick = 0; pick < 2; pick++)
            {
                double us = time_graph(NL, [&](int c) {
                    glue(m, H); launch_mixed(pick ? gemv_k4g6_stream_fast_g6f : gemv_k4g6_stream_fast, qkv[c], m, g_outA, 0);
                    glue(m, H);
                    if (pick && m == 1) launch_stream(gemv_k4m_w4d3, m3, true, gu[c], m, g_outA, 0);
                    else if (m == 1) launch_stream(gemv_k4n_w4d2, 0, true, gu[c], m, g_outA, 0);
                    else launch_silu(gemv_silu_k4_stream_fast, gu[c], m, g_outA);
                    glue(m, H);
                    if (pick) launch_stream(gemv_g6m_w4d3, 0, false, down[c], m, g_outA, 0);
                    else if (m <= 4) launch_plain(gemv_g6_stream_w8, 8, down[c], m, g_outA, 0);
                    else launch_plain(gemv_g6_stream, 4, down[c], m, g_outA, 0);
                });
                printf("LAYER m=%d r%d %s: %7.2f us (%5.0f GB/s)\n", m, round, pick ? "new" : "session10", us,
                    (qkv[0].bytes + gu[0].bytes + down[0].bytes) / (us * 1e-6) / 1e9);
            }
    printf("done, %d mismatches\n", g_mismatches);
    return g_mismatches != 0;
}
