// Issue 8, session 8 (branch splitk): timing harness for split k in the quantized decode GEMVs, compiled ON THE GPU
// MACHINE by splitk_run.sh (cat common.cu gemv_quant_stream.cu gemv_quant_wide.cu splitk_harness.cu). At Qwen3-14B's
// layer shapes with random tiles, for int4 (AWQ g128: register stream, and the wide kernel), fp8 (wide kernel, 4 and 8
// warps), Q4_K (g4 g32: register stream and ring), Q6_K (g8 g16 ring) and the Q4_K|Q6_K q|k|v mix: checks every split
// (2, 3, 4) against splits = 1 (F32 out, three launches in a row so the counter reset is exercised), then times each
// linear at splits 1-4, m = 1 and 8, and whole layers (q|k|v, o, fused gate|up + SiLU, down) with splits = 1 against
// the per-shape fastest split. Every launch uses programmatic stream serialization as the backend does on sm_90; NL
// layers' copies are replayed from a CUDA graph (NL x the layer's bytes is beyond the 50 MB L2).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

__global__ void sh_fill(unsigned int* p, size_t words, unsigned int seed, int kind, unsigned int mask)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x)
    {
        unsigned int h = (unsigned int)(i * 2654435761ull) ^ seed ^ (unsigned int)(i >> 32) * 0x27d4eb2du;
        h ^= h >> 15; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
        unsigned int v;
        if (kind == 0) v = h & mask;                                   // raw bytes (fp8: no NaN with mask 0xF7)
        else if (kind == 1) v = (0x1C00u | (h & 0x3FFu)) | ((0x2000u | ((h >> 10) & 0x3FFu) | ((h >> 4) & 0x8000u)) << 16);  // half2 (scale, offset)
        else if (kind == 2) v = 0x3A800000u | (h & 0x7FFFFFu);         // f32 scales
        else v = (0x3F00u | (h & 0x7Fu) | (h & 0x8000u)) | ((0x3F00u | ((h >> 16) & 0x7Fu) | ((h << 8) & 0x8000u)) << 16);  // bf16 ±[0.5, 1)
        p[i] = v;
    }
}

// Stands in for the small kernels between a layer's GEMVs (norms, RoPE, attention): m blocks read a row of x and write
// a scratch row, PDL-launched like them (launch_dependents first, the wait before any read).
__global__ void sh_glue(const bf16_t* x, bf16_t* y, int k)
{
    HEARTH_PDL_LAUNCH();
    HEARTH_PDL_WAIT();
    float sum = 0.0f;
    for (int i = threadIdx.x; i < k; i += blockDim.x) sum += bf16_to_f32(x[(size_t)blockIdx.x * k + i]);
    for (int i = threadIdx.x; i < k; i += blockDim.x) y[(size_t)blockIdx.x * k + i] = f32_to_bf16(sum * 1e-3f + bf16_to_f32(x[(size_t)blockIdx.x * k + i]));
}

static void fill(void* p, size_t bytes, unsigned int seed, int kind, unsigned int mask = 0xFFFFFFFFu)
{
    sh_fill<<<1024, 256>>>((unsigned int*)p, bytes / 4, seed, kind, mask);
    CK(cudaGetLastError());
}

struct Fmt { int fmt, group, blockRows; };
struct Part { void* data; void* params; int n; Fmt f; };
struct Linear { Part parts[3]; int count, k, rows; double bytes; };

static Part make_part(Fmt f, int n, int k, unsigned int seed, double& bytes)
{
    Part p{nullptr, nullptr, n, f};
    size_t tiles = (n + 15) / 16, dataBytes = tiles * (f.fmt == 0 ? 8ull : 16ull) * k;
    size_t paramBytes = f.fmt == 2 ? (size_t)((n + f.blockRows - 1) / f.blockRows) * (k / f.group) * 4 : tiles * (k / f.group) * 64;
    CK(cudaMalloc(&p.data, dataBytes));
    CK(cudaMalloc(&p.params, paramBytes));
    fill(p.data, dataBytes, seed, 0, f.fmt == 2 ? 0xF7F7F7F7u : 0xFFFFFFFFu);
    fill(p.params, paramBytes, seed ^ 0x9e3779b9u, f.fmt == 2 ? 2 : 1);
    bytes += dataBytes + paramBytes;
    return p;
}

static Linear make_linear(const Fmt* fs, const int* ns, int count, int k, unsigned int& seed)
{
    Linear l{};
    l.count = count; l.k = k;
    for (int i = 0; i < count; i++) { l.parts[i] = make_part(fs[i], ns[i], k, seed++, l.bytes); l.rows += ns[i]; }
    return l;
}

static int tiles_of(const Linear& l) { int t = 0; for (int i = 0; i < l.count; i++) t += (l.parts[i].n + 15) / 16; return t; }

typedef void (*Kernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int, int, int,
    const bf16_t*, int, void*, long long, int, int, float*, int*, int);
typedef void (*SiluKernel)(const uint4*, const void*, const uint4*, const void*, int, int, int, int, int, const bf16_t*, int, bf16_t*);

// What runs a linear: kernel (or the g4|g8 mix when kernel is null), threads a block, and the mix's g4Ring.
struct Variant { const char* name; Kernel kernel; int threads; int g4Ring; };

static float* g_partials; static int* g_counters; static int g_prefetch = 0;   // lines a warp pulls into L2 before the wait

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

static void launch(const Variant& v, const Linear& l, int splits, const bf16_t* x, int m, void* out, int outF32, cudaStream_t s)
{
    Part e{nullptr, nullptr, 0, {0, 0, 0}};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(tiles_of(l) * splits, v.threads, s, &attribute);
    if (v.kernel != nullptr)
        CK(cudaLaunchKernelEx(&cfg, v.kernel, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
            (const uint4*)c.data, (const void*)c.params, c.n, l.k, a.f.group, a.f.blockRows, l.k / 128, x, m, out, (long long)l.rows, outF32,
            splits, g_partials, g_counters, g_prefetch));
    else
    {
        int group4 = 0, group8 = 0, mask = 0;
        for (int i = 0; i < l.count; i++) { if (l.parts[i].f.fmt == 1) { group8 = l.parts[i].f.group; mask |= 1 << i; } else group4 = l.parts[i].f.group; }
        CK(cudaLaunchKernelEx(&cfg, gemv_g4g8_stream, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
            (const uint4*)c.data, (const void*)c.params, c.n, l.k, group4, group8, mask, v.g4Ring, x, m, out, (long long)l.rows, outF32,
            splits, g_partials, g_counters, g_prefetch));
    }
}

static void launch_silu(SiluKernel kernel, int threads, const Linear& l, const bf16_t* x, int m, void* out, cudaStream_t s)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config((l.parts[0].n + 15) / 16, threads, s, &attribute);
    const Fmt& f = l.parts[0].f;
    CK(cudaLaunchKernelEx(&cfg, kernel, (const uint4*)l.parts[0].data, (const void*)l.parts[0].params, (const uint4*)l.parts[1].data,
        (const void*)l.parts[1].params, l.parts[0].n, l.k, f.group, f.blockRows, l.k / 128, x, m, (bf16_t*)out));
}

static bf16_t* g_glueOut;

static void glue(const bf16_t* x, int m, int k, cudaStream_t s)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(m, 256, s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, sh_glue, x, g_glueOut, k));
}

static std::vector<float> fetch_f32(const void* p, size_t n)
{
    std::vector<float> v(n);
    CK(cudaMemcpy(v.data(), p, n * 4, cudaMemcpyDeviceToHost));
    return v;
}

static double max_rel(const std::vector<float>& a, const std::vector<float>& b)
{
    double maxRef = 0, maxDiff = 0;
    for (size_t i = 0; i < a.size(); i++) { maxRef = fmax(maxRef, fabs(a[i])); double d = fabs((double)a[i] - b[i]); if (!(d <= maxDiff)) maxDiff = d; }
    return maxDiff / (maxRef > 0 ? maxRef : 1);
}

// µs per captured call of `enqueue` (one layer's worth per layer index), averaged over the layers.
template <typename F>
static double time_graph(cudaStream_t s, int layers, F enqueue)
{
    const int Replays = 20;
    cudaGraph_t graph; cudaGraphExec_t exec;
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    for (int l = 0; l < layers; l++) enqueue(l);
    CK(cudaStreamEndCapture(s, &graph));
    CK(cudaGraphInstantiate(&exec, graph, 0));
    CK(cudaGraphLaunch(exec, s));
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    CK(cudaEventRecord(e0, s));
    for (int r = 0; r < Replays; r++) CK(cudaGraphLaunch(exec, s));
    CK(cudaEventRecord(e1, s)); CK(cudaEventSynchronize(e1));
    float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
    CK(cudaGraphExecDestroy(exec)); CK(cudaGraphDestroy(graph));
    CK(cudaEventDestroy(e0)); CK(cudaEventDestroy(e1));
    return ms * 1e3 / Replays / layers;
}

static bf16_t* g_x; static void* g_outA; static void* g_outB; static cudaStream_t g_s;
static double g_worst = 0; static int g_mismatches = 0;

// Checks splits 2-4 against 1 at m = 1, 3, 8 (the third of three launches in a row), then returns the fastest split
// at m (1-4) after printing each one's µs and GB/s. copies[layer] is the linear of each layer copy.
static int g_maxSplits = 4;

static int explore(const char* label, const Variant& v, const std::vector<Linear>& copies, int m, bool check)
{
    if (g_maxSplits == 1) check = false;
    const Linear& l0 = copies[0];
    if (check)
        for (int mm : { 1, 3, 8 })
        {
            CK(cudaMemset(g_outA, 0, (size_t)mm * l0.rows * 4));
            launch(v, l0, 1, g_x, mm, g_outA, 1, g_s);
            for (int splits = 2; splits <= g_maxSplits; splits++)
            {
                CK(cudaMemset(g_outB, 0xFF, (size_t)mm * l0.rows * 4));
                for (int r = 0; r < 3; r++) launch(v, l0, splits, g_x, mm, g_outB, 1, g_s);
                CK(cudaStreamSynchronize(g_s));
                double rel = max_rel(fetch_f32(g_outA, (size_t)mm * l0.rows), fetch_f32(g_outB, (size_t)mm * l0.rows));
                if (!(rel <= g_worst)) g_worst = rel;
                if (!(rel < 1e-5)) { printf("  MISMATCH %s %s splits=%d m=%d: max rel diff %.3g\n", label, v.name, splits, mm, rel); g_mismatches++; }
            }
        }
    double us[5];
    int best = 1;
    for (int splits = 1; splits <= g_maxSplits; splits++)
    {
        us[splits] = time_graph(g_s, (int)copies.size(), [&](int c) { launch(v, copies[c], splits, g_x, m, g_outA, 0, g_s); });
        if (us[splits] < us[best]) best = splits;
    }
    printf("  %-8s %-14s m=%d tiles %4d:", label, v.name, m, tiles_of(l0));
    for (int splits = 1; splits <= g_maxSplits; splits++) printf("  s%d %6.2f us %5.0f GB/s", splits, us[splits], l0.bytes / (us[splits] * 1e-6) / 1e9);
    printf("  best s%d\n", best);
    return best;
}

// Smaller models' shapes (1.7B, 4B, 8B), where a launch has fewer tiles than the GPU has SMs or barely more: splits
// 1-4 at m = 1 and 8, enough copies that they stream from memory.
static void small_shapes(const char* name, Fmt f, const Variant& v)
{
    struct Shape { const char* label; int n, k; };
    Shape shapes[] = { { "1.7B qkv", 4096, 2048 }, { "1.7B o", 2048, 2048 }, { "1.7B down", 2048, 6144 }, { "4B qkv", 6144, 2560 },
        { "4B o", 2560, 4096 }, { "4B down", 2560, 9728 }, { "8B qkv", 6144, 4096 }, { "8B o", 4096, 4096 }, { "8B down", 4096, 12288 } };
    printf("%s, smaller models (%s):\n", name, v.name);
    for (const Shape& sh : shapes)
    {
        if (sh.k % 256 != 0) continue;
        std::vector<Linear> copies;
        unsigned int seed = 901;
        Linear first = make_linear(&f, &sh.n, 1, sh.k, seed);
        copies.push_back(first);
        int count = (int)fmin(256.0, ceil(200e6 / first.bytes));
        while ((int)copies.size() < count) copies.push_back(make_linear(&f, &sh.n, 1, sh.k, seed));
        CK(cudaDeviceSynchronize());
        for (int m : { 1, 8 }) explore(sh.label, v, copies, m, m == 1);
        for (Linear& l : copies) { CK(cudaFree(l.parts[0].data)); CK(cudaFree(l.parts[0].params)); }
    }
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, NL = 8;
    // HARNESS_MODE=pf: splits = 1 only, no small shapes, once per PREFETCH value (lines a warp pulls into L2 before the
    // PDL wait); otherwise splits 1-4 with no prefetch.
    bool pfMode = getenv("HARNESS_MODE") != nullptr && strcmp(getenv("HARNESS_MODE"), "pf") == 0;
    if (pfMode) g_maxSplits = 1;
    std::vector<int> prefetches = { 0 };
    if (pfMode && getenv("PREFETCH") != nullptr)
    {
        prefetches.clear();
        for (char* t = strtok(getenv("PREFETCH"), " ,"); t != nullptr; t = strtok(nullptr, " ,")) prefetches.push_back(atoi(t));
    }
    CK(cudaMalloc(&g_glueOut, 8ull * I * 2));
    CK(cudaMalloc(&g_x, 8ull * I * 2));
    CK(cudaMalloc(&g_outA, 8ull * 2 * I * 4));
    CK(cudaMalloc(&g_outB, 8ull * 2 * I * 4));
    CK(cudaMalloc(&g_partials, 4096ull * 4 * 128 * 4));
    CK(cudaMalloc(&g_counters, 4096 * 4));
    CK(cudaMemset(g_counters, 0, 4096 * 4));
    fill(g_x, 8ull * I * 2, 77, 3);
    CK(cudaStreamCreate(&g_s));
    const Fmt awq{0, 128, 0}, fp8{2, 128, 128}, q4k{0, 32, 0}, q6k{1, 16, 0};
    Variant g4Stream{"g4 stream", gemv_g4_stream, 128, 0}, g4Wide{"g4 wide W4", gemv_g4_wide, 128, 0};
    Variant f8Wide4{"f8 wide W4", gemv_f8_wide, 128, 0}, f8Wide8{"f8 wide W8", gemv_f8_wide, 256, 0}, f8Stream{"f8 stream", gemv_f8_stream, 128, 0};
    Variant g4Ring{"g4 ring", gemv_g4_ring_stream, 128, 0}, g8Ring{"g8 ring", gemv_g8_stream, 128, 0};
    Variant mixRing{"g4g8 ring", nullptr, 128, 1}, mixReg{"g4g8 reg", nullptr, 128, 0};
    struct Case { const char* name; Fmt f; Variant* shapeVariants[4][3]; SiluKernel silu; int siluThreads; };
    // Per format: the variants tried on q|k|v, o, down (the first is the backend's current choice), and the fused gate|up.
    Case cases[] = {
        { "awq-int4", awq, { { &g4Stream, &g4Wide, nullptr }, { &g4Stream, &g4Wide, nullptr }, { &g4Stream, &g4Wide, nullptr } }, gemv_silu_g4_stream, 128 },
        { "fp8", fp8, { { &f8Wide4, &f8Wide8, &f8Stream }, { &f8Wide4, &f8Wide8, &f8Stream }, { &f8Wide4, &f8Wide8, &f8Stream } }, gemv_silu_f8_wide, 256 },
        { "Q4_K", q4k, { { &g4Stream, &g4Ring, nullptr }, { &g4Stream, &g4Ring, nullptr }, { &g4Ring, &g4Stream, nullptr } }, gemv_silu_g4_stream, 128 },
    };
    for (int pf : prefetches)
    for (Case& c : cases)
    {
        g_prefetch = pf;
        printf("== prefetch %d lines a warp before the PDL wait, mode %s\n", pf, pfMode ? "pf" : "full");
        std::vector<Linear> qkv, o, gu, down;
        unsigned int seed = 1;
        for (int l = 0; l < NL; l++)
        {
            Fmt f3[3] = { c.f, c.f, c.f };
            int nq[3] = { H, KV, KV }, no[1] = { H }, ng[2] = { I, I };
            qkv.push_back(make_linear(f3, nq, 3, H, seed)); o.push_back(make_linear(f3, no, 1, H, seed));
            gu.push_back(make_linear(f3, ng, 2, H, seed)); down.push_back(make_linear(f3, no, 1, I, seed));
        }
        CK(cudaDeviceSynchronize());
        printf("%s: MB qkv %.1f o %.1f gate|up %.1f down %.1f\n", c.name, qkv[0].bytes / 1e6, o[0].bytes / 1e6, gu[0].bytes / 1e6, down[0].bytes / 1e6);
        std::vector<Linear>* shapes[3] = { &qkv, &o, &down };
        const char* names[3] = { "qkv", "o", "down" };
        for (int m : { 1, 8 })
        {
            int best[3];
            for (int si = 0; si < 3; si++)
                for (int vi = 0; vi < 3; vi++)
                {
                    Variant* v = c.shapeVariants[si][vi];
                    if (v == nullptr) continue;
                    int b = explore(names[si], *v, *shapes[si], m, m == 1);
                    if (vi == 0) best[si] = b;
                }
            double silu = time_graph(g_s, NL, [&](int l) { launch_silu(c.silu, c.siluThreads, gu[l], g_x, m, g_outA, g_s); });
            double layerBytes = qkv[0].bytes + o[0].bytes + gu[0].bytes + down[0].bytes;
            double glueUs = time_graph(g_s, NL, [&](int) { glue(g_x, m, H, g_s); glue(g_x, m, H, g_s); glue(g_x, m, H, g_s); glue(g_x, m, H, g_s); });
            for (int withGlue = 0; withGlue < 2; withGlue++)
                for (int planned = 0; planned < (g_maxSplits > 1 ? 2 : 1); planned++)
                {
                    double us = time_graph(g_s, NL, [&](int l) {
                        if (withGlue) glue(g_x, m, H, g_s);
                        launch(*c.shapeVariants[0][0], qkv[l], planned ? best[0] : 1, g_x, m, g_outA, 0, g_s);
                        if (withGlue) glue(g_x, m, H, g_s);
                        launch(*c.shapeVariants[1][0], o[l], planned ? best[1] : 1, g_x, m, g_outA, 0, g_s);
                        if (withGlue) glue(g_x, m, H, g_s);
                        launch_silu(c.silu, c.siluThreads, gu[l], g_x, m, g_outA, g_s);
                        launch(*c.shapeVariants[2][0], down[l], planned ? best[2] : 1, g_x, m, g_outA, 0, g_s);
                        if (withGlue) glue(g_x, m, H, g_s);
                    });
                    printf("  LAYER%s %s m=%d %s: %7.2f us (%5.0f GB/s)  [gate|up+silu alone %.2f us, %.0f GB/s; 4 glue alone %.2f us]\n",
                        withGlue ? "+GLUE" : "", c.name, m, planned ? "split (qkv/o/down best)" : "unsplit", us, layerBytes / (us * 1e-6) / 1e9,
                        silu, gu[0].bytes / (silu * 1e-6) / 1e9, glueUs);
                    if (planned) printf("    splits qkv %d o %d down %d\n", best[0], best[1], best[2]);
                }
        }
        if (c.f.group == 32)
        {
            // Q4_K_M's other layers: q|k Q4_K with v Q6_K (the mixed launch), and down in Q6_K (g8 ring).
            std::vector<Linear> mix, down6;
            for (int l = 0; l < NL; l++)
            {
                Fmt fm[3] = { q4k, q4k, q6k }, f6[1] = { q6k };
                int nq[3] = { H, KV, KV }, no[1] = { H };
                mix.push_back(make_linear(fm, nq, 3, H, seed)); down6.push_back(make_linear(f6, no, 1, I, seed));
            }
            CK(cudaDeviceSynchronize());
            for (int m : { 1, 8 })
            {
                explore("qkv mix", mixRing, mix, m, m == 1);
                explore("qkv mix", mixReg, mix, m, m == 1);
                explore("down Q6K", g8Ring, down6, m, m == 1);
            }
            for (auto* set : { &mix, &down6 }) for (Linear& l : *set) for (int i = 0; i < l.count; i++) { CK(cudaFree(l.parts[i].data)); CK(cudaFree(l.parts[i].params)); }
        }
        for (auto* set : { &qkv, &o, &gu, &down }) for (Linear& l : *set) for (int i = 0; i < l.count; i++) { CK(cudaFree(l.parts[i].data)); CK(cudaFree(l.parts[i].params)); }
    }
    if (!pfMode)
    {
        small_shapes("awq-int4", awq, g4Stream);
        small_shapes("fp8", fp8, f8Wide4);
    }
    std::vector<int> counters(4096);
    CK(cudaMemcpy(counters.data(), g_counters, 4096 * 4, cudaMemcpyDeviceToHost));
    int nonzero = 0;
    for (int v : counters) nonzero += v != 0;
    printf("split vs unsplit: worst max rel diff %.3g, %d mismatches; counters left nonzero: %d\n", g_worst, g_mismatches, nonzero);
    return g_mismatches != 0 || nonzero != 0;
}
