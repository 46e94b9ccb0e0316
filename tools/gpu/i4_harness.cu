// Issue 8, sessions 9-11 (branches i4, i4b, i4c): timing harness for the int4 (AWQ g128) decode GEMV, compiled ON THE GPU
// MACHINE by i4_run.sh / i4b_run.sh / i4c_run.sh (cat common.cu gemv_quant_stream.cu gemv_quant_i4.cu i4_harness.cu). At Qwen3-14B's
// four layer shapes, m = 1 and 8: gemv_g4_stream / gemv_silu_g4_stream (main's kernels) against gemv_quant_i4.cu's
// per-tile stream (W warps, L loads a stage, D stage buffers; a block a tile or gate|up pair, or "balanced": the fewest
// equal rounds of units over the resident blocks), session 10's lop3 operands (the shipped kernels), and timing-only
// variants (no math; no all-ones MMA) that show what the math costs. Checks every variant against the old kernel (f32
// out, m = 1, 3, 8: bit-equal where W = 4; the fused gate|up + SiLU bf16 bits), then times each launch and whole layers
// (q|k|v, o, gate|up + SiLU, down, and again with a small PDL kernel between them), old against the per-shape fastest
// new choice. Every launch uses programmatic stream serialization as the backend does on sm_90; 8 copies of each
// linear replayed from a CUDA graph, so L2 (50 MB) holds none. Session 11: the params carry integer zero points (offset
// f16(-z · s)), which the q - z kernels need; variants that do not give the old kernel's bits are checked within 2e-3. (Session 10's stream-K kernels, every resident warp
// streaming an equal run of the launch's stages, were 5-90 % slower than main's kernel; they are kept in commit
// 2470d7f: i4_streamk.cuh and this harness.)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>
#include <cuda_fp16.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

// Session 9's other per-tile variants (W4 L4 D4, L2 D3-D6, W8, W2) lost everywhere. Session 10: the module's kernels
// (gemv_g4_i4_w4l4d3 and _w4l4d2 with the lop3 operands, _w4l4d3_s9 without), session 9's D2, and timing-only ones.
I4_KERNEL(i4_w4l4d2, 4, 4, 2, 4)
I4_KERNEL_V(i4_w4l4d3_nomath, 4, 4, 3, 3, 2)
I4_KERNEL_V(i4_w4l4d2_nomath, 4, 4, 2, 4, 2)
I4_KERNEL_V(i4_w4l4d3_noones, 4, 4, 3, 3, 3)
// Session 11 (branch i4c): the module's kernels (gemv_g4_i4h_*: x's group sums at half the MMAs; gemv_g4_i4z_*: q - z
// operands, no sums; gemv_g4_i4x_*: session 10's arithmetic; all with unpredicated x loads from one pointer a stage), and
// here the group sums once a warp shared by its tiles (mode 5), q - z at D 3 capped to 4 blocks an SM and D 2 at 5 (call
// 1: all slower than session 10's kernels; see docs/performance/quantized.md, session 11).
I4_KERNEL_V(gemv_g4_i4s_w4l4d3, 4, 4, 3, 3, 5)
I4_KERNEL_V(i4z_w4l4d3_b4, 4, 4, 3, 4, 4)
I4_KERNEL_V(i4z_w4l4d2_b5, 4, 4, 2, 5, 4)

__global__ void ih_fill(unsigned int* p, size_t words, unsigned int seed, int kind)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x)
    {
        unsigned int h = (unsigned int)(i * 2654435761ull) ^ seed ^ (unsigned int)(i >> 32) * 0x27d4eb2du;
        h ^= h >> 15; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
        unsigned int v;
        if (kind == 0) v = h;   // nibbles
        else if (kind == 1) v = (0x1C00u | (h & 0x3FFu)) | ((0x2000u | ((h >> 10) & 0x3FFu) | ((h >> 4) & 0x8000u)) << 16);   // half2 (scale, offset)
        else if (kind == 3)   // half2 (scale, f16(-z · scale)), z an integer 0-15 (session 11: AWQ's zero points, what q - z needs)
        {
            __half s = __ushort_as_half((unsigned short)(0x1C00u | (h & 0x3FFu)));
            v = __half_as_ushort(s) | ((unsigned int)__half_as_ushort(__float2half_rn(-(float)((h >> 12) & 15u) * __half2float(s))) << 16);
        }
        else v = (0x3F00u | (h & 0x7Fu) | (h & 0x8000u)) | ((0x3F00u | ((h >> 16) & 0x7Fu) | ((h << 8) & 0x8000u)) << 16);   // bf16 ±[0.5, 1)
        p[i] = v;
    }
}

// Stands in for the small kernels between a layer's GEMVs (norms, RoPE, attention), PDL-launched like them.
__global__ void ih_glue(const bf16_t* x, bf16_t* y, int k)
{
    HEARTH_PDL_LAUNCH();
    HEARTH_PDL_WAIT();
    float sum = 0.0f;
    for (int i = threadIdx.x; i < k; i += blockDim.x) sum += bf16_to_f32(x[(size_t)blockIdx.x * k + i]);
    for (int i = threadIdx.x; i < k; i += blockDim.x) y[(size_t)blockIdx.x * k + i] = f32_to_bf16(sum * 1e-3f + bf16_to_f32(x[(size_t)blockIdx.x * k + i]));
}

static void fill(void* p, size_t bytes, unsigned int seed, int kind)
{
    ih_fill<<<1024, 256>>>((unsigned int*)p, bytes / 4, seed, kind);
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
        size_t tiles = (ns[i] + 15) / 16, dataBytes = tiles * 8ull * k, paramBytes = tiles * (k / 128) * 64;
        CK(cudaMalloc(&p.data, dataBytes));
        CK(cudaMalloc(&p.params, paramBytes));
        fill(p.data, dataBytes, seed++, 0);
        fill(p.params, paramBytes, seed++ ^ 0x9e3779b9u, 3);
        l.bytes += dataBytes + paramBytes;
        l.rows += ns[i];
        l.tiles += (int)tiles;
    }
    return l;
}

static void free_linear(Linear& l) { for (int i = 0; i < l.count; i++) { CK(cudaFree(l.parts[i].data)); CK(cudaFree(l.parts[i].params)); } }

typedef void (*OldKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int, int, int,
    const bf16_t*, int, void*, long long, int, int, float*, int*, int);
typedef void (*OldSilu)(const uint4*, const void*, const uint4*, const void*, int, int, int, int, int, const bf16_t*, int, bf16_t*);
typedef void (*NewKernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int,
    const bf16_t*, int, void*, long long, int, int);

// diag: a timing-only variant (wrong results: no checks, never picked for the layer).
// exact: the old kernel's bits (else, the q - z kernels, within a relative 2e-3 of the largest value, 1e-2 for bf16).
struct Variant { const char* name; NewKernel kernel; int warps, loads; int slots; bool diag = false; bool exact = true; };

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

static cudaStream_t g_s; static bf16_t* g_x; static bf16_t* g_glueOut; static void* g_outA; static void* g_outB;

// silu: the linear is a gate|up pair and out the [m, n] SiLU product (bf16).
static void launch_old(const Linear& l, bool silu, const bf16_t* x, int m, void* out, int outF32)
{
    cudaLaunchAttribute attribute;
    const Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    if (silu)
    {
        cudaLaunchConfig_t cfg = config((a.n + 15) / 16, 128, g_s, &attribute);
        CK(cudaLaunchKernelEx(&cfg, (OldSilu)gemv_silu_g4_stream, (const uint4*)a.data, (const void*)a.params, (const uint4*)b.data,
            (const void*)b.params, a.n, l.k, 128, 0, l.k / 128, x, m, (bf16_t*)out));
        return;
    }
    cudaLaunchConfig_t cfg = config(l.tiles, 128, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, (OldKernel)gemv_g4_stream, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params,
        b.n, (const uint4*)c.data, (const void*)c.params, c.n, l.k, 128, 0, l.k / 128, x, m, out, (long long)l.rows, outF32, 1, (float*)nullptr,
        (int*)nullptr, 0));
}

// Units of a launch: tiles, or gate tiles when silu. grid 0 = one block a unit; 1 = balanced over the resident slots.
static int grid_for(const Variant& v, const Linear& l, bool silu, int mode)
{
    int units = silu ? (l.parts[0].n + 15) / 16 : l.tiles;
    if (mode == 0 || units <= v.slots) return units;
    int rounds = (units + v.slots - 1) / v.slots;
    return (units + rounds - 1) / rounds;
}

static void launch_new(const Variant& v, int mode, const Linear& l, bool silu, const bf16_t* x, int m, void* out, int outF32)
{
    cudaLaunchAttribute attribute;
    const Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchConfig_t cfg = config(grid_for(v, l, silu, mode), 32 * v.warps, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, v.kernel, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, 128, x, m, out, silu ? (long long)a.n : (long long)l.rows, silu ? 0 : outF32, silu ? 1 : 0));
}

static void glue(int m, int k)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(m, 256, g_s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, ih_glue, (const bf16_t*)g_x, g_glueOut, k));
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

// The new variant's output against the old kernel's at m = 1, 3, 8 (f32 out; bf16 for silu). W = 4 must match bit for
// bit (the same per-tile arithmetic); other warp counts within 1e-5 relative of the largest value.
static void check(const Variant& v, int mode, const Linear& l, bool silu, const char* label)
{
    for (int m : { 1, 3, 8 })
    {
        size_t count = (size_t)m * (silu ? l.parts[0].n : l.rows), bytes = count * (silu ? 2 : 4);
        CK(cudaMemset(g_outA, 0, bytes));
        CK(cudaMemset(g_outB, 0xFF, bytes));
        launch_old(l, silu, g_x, m, g_outA, 1);
        launch_new(v, mode, l, silu, g_x, m, g_outB, 1);
        CK(cudaStreamSynchronize(g_s));
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
        bool ok = v.warps == 4 && v.exact ? differ == 0 : rel < (silu ? 1e-2 : v.exact ? 1e-5 : 2e-3);
        if (!v.exact && m == 8 && mode == 0) printf("  q-z %s %s grid%d m=%d: %zu of %zu differ, max rel %.3g\n", label, v.name, mode, m, differ, count, rel);
        if (!ok) { printf("  MISMATCH %s %s grid%d m=%d: %zu of %zu differ, max rel %.3g\n", label, v.name, mode, m, differ, count, rel); g_mismatches++; }
    }
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, NL = 8;
    int sms; CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaMalloc(&g_glueOut, 8ull * I * 2));
    CK(cudaMalloc(&g_x, 8ull * I * 2));
    CK(cudaMalloc(&g_outA, 8ull * 2 * I * 4));
    CK(cudaMalloc(&g_outB, 8ull * 2 * I * 4));
    fill(g_x, 8ull * I * 2, 77, 2);
    CK(cudaStreamCreate(&g_s));
    Variant variants[] = {
        { "w4l4d2", i4_w4l4d2, 4, 4, 0 }, { "w4l4d3s9", gemv_g4_i4_w4l4d3_s9, 4, 4, 0 },
        { "w4l4d3lop3", gemv_g4_i4_w4l4d3, 4, 4, 0 }, { "w4l4d2lop3", gemv_g4_i4_w4l4d2, 4, 4, 0 },
        { "NOMATHd3", i4_w4l4d3_nomath, 4, 4, 0, true }, { "NOMATHd2", i4_w4l4d2_nomath, 4, 4, 0, true },
        { "NOONESd3", i4_w4l4d3_noones, 4, 4, 0, true },
        { "XPd3", gemv_g4_i4x_w4l4d3, 4, 4, 0 }, { "XPd2", gemv_g4_i4x_w4l4d2, 4, 4, 0 },
        { "HXd3", gemv_g4_i4h_w4l4d3, 4, 4, 0, false, false }, { "HXd2", gemv_g4_i4h_w4l4d2, 4, 4, 0, false, false },
        { "QZd3", gemv_g4_i4z_w4l4d3, 4, 4, 0, false, false }, { "QZd2", gemv_g4_i4z_w4l4d2, 4, 4, 0, false, false },
        { "SUMd3", gemv_g4_i4s_w4l4d3, 4, 4, 0 },
    };
    const int NV = sizeof(variants) / sizeof(variants[0]);
    for (Variant& v : variants)
    {
        int perSm; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, v.kernel, 32 * v.warps, 0));
        v.slots = perSm * sms;
        printf("variant %s: %d blocks an SM, %d slots\n", v.name, perSm, v.slots);
    }
    std::vector<Linear> qkv, o, gu, down;
    unsigned int seed = 1;
    for (int l = 0; l < NL; l++)
    {
        int nq[3] = { H, KV, KV }, no[1] = { H }, ng[2] = { I, I };
        qkv.push_back(make_linear(nq, 3, H, seed)); o.push_back(make_linear(no, 1, H, seed));
        gu.push_back(make_linear(ng, 2, H, seed)); down.push_back(make_linear(no, 1, I, seed));
    }
    // Checks on odd shapes too: n = 200 (a partial tile), q|k|v 160|72|41, gate|up 200 each.
    int n1[1] = { 200 }, n3[3] = { 160, 72, 41 }, n2[2] = { 200, 200 };
    Linear odd1 = make_linear(n1, 1, H, seed), odd3 = make_linear(n3, 3, H, seed), odd2 = make_linear(n2, 2, I, seed);
    CK(cudaDeviceSynchronize());
    printf("MB qkv %.1f o %.1f gate|up %.1f down %.1f\n", qkv[0].bytes / 1e6, o[0].bytes / 1e6, gu[0].bytes / 1e6, down[0].bytes / 1e6);
    std::vector<Linear>* shapes[4] = { &qkv, &o, &gu, &down };
    const char* names[4] = { "qkv", "o", "gate|up", "down" };
    for (const Variant& v : variants)
        for (int mode = 0; mode < 2 && !v.diag; mode++)
        {
            for (int si = 0; si < 4; si++) check(v, mode, (*shapes[si])[0], si == 2, names[si]);
            check(v, mode, odd1, false, "odd n"); check(v, mode, odd3, false, "odd qkv"); check(v, mode, odd2, true, "odd silu");
        }
    printf("checks: %d mismatches\n", g_mismatches);
    for (int m : { 1, 8 })
    {
        int bestV[4], bestMode[4];
        double oldUs[4], bestUs[4];
        for (int si = 0; si < 4; si++)
        {
            const std::vector<Linear>& copies = *shapes[si];
            bool silu = si == 2;
            double bytes = copies[0].bytes;
            oldUs[si] = time_graph(NL, [&](int c) { launch_old(copies[c], silu, g_x, m, g_outA, 0); });
            printf("%-8s m=%d old %6.2f us %5.0f GB/s |", names[si], m, oldUs[si], bytes / (oldUs[si] * 1e-6) / 1e9);
            bestUs[si] = 1e30; bestV[si] = 0; bestMode[si] = 0;
            for (int vi = 0; vi < NV; vi++)
                for (int mode = 0; mode < 2; mode++)
                {
                    if (mode == 1 && grid_for(variants[vi], copies[0], silu, 1) == grid_for(variants[vi], copies[0], silu, 0)) continue;
                    double us = time_graph(NL, [&](int c) { launch_new(variants[vi], mode, copies[c], silu, g_x, m, g_outA, 0); });
                    printf(" %s%s %.2f (%.0f)", variants[vi].name, mode ? "B" : "", us, bytes / (us * 1e-6) / 1e9);
                    if (us < bestUs[si] && !variants[vi].diag) { bestUs[si] = us; bestV[si] = vi; bestMode[si] = mode; }
                }
            printf("\n  best %s %s%s %.2f us (%.0f GB/s) vs old %.2f\n", names[si], variants[bestV[si]].name, bestMode[si] ? " balanced" : "",
                bestUs[si], bytes / (bestUs[si] * 1e-6) / 1e9, oldUs[si]);
        }
        double layerBytes = qkv[0].bytes + o[0].bytes + gu[0].bytes + down[0].bytes;
        // Whole layers: old (-1), the per-shape best, and fixed rules (variant names, q|k|v / o / gate|up (balanced) / down),
        // the shipped session 10 rule and the session 11 candidates twice, alternated.
        auto find = [&](const char* name) { for (int vi = 0; vi < NV; vi++) if (!strcmp(variants[vi].name, name)) return vi; return -1; };
        struct Rule { const char* label; int v[4]; int mode[4]; };
        Rule rules[] = {
            { "old", { -1, -1, -1, -1 }, { 0, 0, 0, 0 } },
            { "new (per-shape best)", { bestV[0], bestV[1], bestV[2], bestV[3] }, { bestMode[0], bestMode[1], bestMode[2], bestMode[3] } },
            { "s10 rule", { find("w4l4d2lop3"), find("w4l4d3lop3"), find("w4l4d3lop3"), find("w4l4d3lop3") }, { 0, 0, 1, 0 } },
            { "HX rule", { find("HXd2"), find("HXd3"), find("HXd3"), find("HXd3") }, { 0, 0, 1, 0 } },
            { "QZ rule", { find("QZd2"), find("QZd3"), find("QZd3"), find("QZd3") }, { 0, 0, 1, 0 } },
            { "XP rule", { find("XPd2"), find("XPd3"), find("XPd3"), find("XPd3") }, { 0, 0, 1, 0 } },
            { "s10 rule again", { find("w4l4d2lop3"), find("w4l4d3lop3"), find("w4l4d3lop3"), find("w4l4d3lop3") }, { 0, 0, 1, 0 } },
            { "HX rule again", { find("HXd2"), find("HXd3"), find("HXd3"), find("HXd3") }, { 0, 0, 1, 0 } },
            { "QZ rule again", { find("QZd2"), find("QZd3"), find("QZd3"), find("QZd3") }, { 0, 0, 1, 0 } },
        };
        for (int withGlue = 0; withGlue < 2; withGlue++)
            for (const Rule& rule : rules)
            {
                auto layer = [&](int l) {
                    for (int si = 0; si < 4; si++)
                    {
                        if (withGlue && si != 3) glue(m, H);
                        const Linear& lin = (*shapes[si])[l];
                        if (rule.v[si] >= 0) launch_new(variants[rule.v[si]], rule.mode[si], lin, si == 2, g_x, m, g_outA, 0);
                        else launch_old(lin, si == 2, g_x, m, g_outA, 0);
                    }
                    if (withGlue) glue(m, H);
                };
                double us = time_graph(NL, layer);
                printf("LAYER%s m=%d %s: %7.2f us (%5.0f GB/s)\n", withGlue ? "+GLUE" : "", m, rule.label, us, layerBytes / (us * 1e-6) / 1e9);
            }
    }
    printf("done, %d mismatches\n", g_mismatches);
    return g_mismatches != 0;
}
