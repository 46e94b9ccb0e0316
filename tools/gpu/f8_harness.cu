// Issue 8, session 7 (branch f8): timing harness for the wide quantized GEMV (gemv_quant_wide.cu) against the register
// stream it replaces (gemv_quant_stream.cu) and the bf16 GEMV (gemv.cu), compiled ON THE GPU MACHINE by f8_run.sh
// (cat common.cu gemv.cu gemv_quant_stream.cu gemv_quant_wide.cu f8_harness.cu; one binary per QW_* variant). At
// Qwen3-14B's layer shapes with random tiles: checks the wide kernel (W = 4, 8 warps a tile) against the stream
// kernel at m = 1, 3, 8 (F32 out) and the fused gate|up + SiLU·mul against the stream kernel's, then times each linear
// and whole layers at m = 1 and 8, every launch with programmatic stream serialization as the backend does on sm_90,
// NL layers' copies replayed from a CUDA graph (NL · 330 MB of fp8 is far beyond the 50 MB L2).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

__global__ void fh_fill(unsigned int* p, size_t words, unsigned int seed, int kind, unsigned int mask)
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

static void fill(void* p, size_t bytes, unsigned int seed, int kind, unsigned int mask = 0xFFFFFFFFu)
{
    fh_fill<<<1024, 256>>>((unsigned int*)p, bytes / 4, seed, kind, mask);
    CK(cudaGetLastError());
}

struct Part { void* data; void* params; void* dense; int n; };
struct Linear { Part parts[3]; int count, k, rows; };
struct Format { const char* name; int fmt, group, blockRows; };

static Part make_part(const Format& f, int n, int k, unsigned int seed, size_t& bytes, size_t& denseBytes, bool dense)
{
    Part p{nullptr, nullptr, nullptr, n};
    size_t tiles = (n + 15) / 16, dataBytes = tiles * (f.fmt == 0 ? 8ull : 16ull) * k;
    size_t paramBytes = f.fmt == 2 ? (size_t)((n + f.blockRows - 1) / f.blockRows) * (k / f.group) * 4 : tiles * (k / f.group) * 64;
    CK(cudaMalloc(&p.data, dataBytes));
    CK(cudaMalloc(&p.params, paramBytes));
    fill(p.data, dataBytes, seed, 0, f.fmt == 2 ? 0xF7F7F7F7u : 0xFFFFFFFFu);
    fill(p.params, paramBytes, seed ^ 0x9e3779b9u, f.fmt == 2 ? 2 : 1);
    bytes += dataBytes + paramBytes;
    if (dense)
    {
        CK(cudaMalloc(&p.dense, (size_t)n * k * 2));
        fill(p.dense, (size_t)n * k * 2, seed ^ 0x1234567u, 3);
        denseBytes += (size_t)n * k * 2;
    }
    return p;
}

typedef void (*Kernel)(const uint4*, const void*, int, const uint4*, const void*, int, const uint4*, const void*, int, int, int, int, int,
    const bf16_t*, int, void*, long long, int, int, float*, int*, int);   // session 8: + splits, partials, counters, prefetch lines
typedef void (*SiluKernel)(const uint4*, const void*, const uint4*, const void*, int, int, int, int, int, const bf16_t*, int, bf16_t*);

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

// Session 11: split-k workspace for the one-warp-block launches (W = 1, splits blocks a tile).
static float* gPartials = nullptr;
static int* gCounters = nullptr;

static void launch(Kernel kernel, int threads, const Format& f, const Linear& l, const bf16_t* x, int m, void* out, int outF32, cudaStream_t s,
    int splits = 1)
{
    int tiles = 0;
    for (int i = 0; i < l.count; i++) tiles += (l.parts[i].n + 15) / 16;
    Part e{nullptr, nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config(tiles * splits, threads, s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, kernel, (const uint4*)a.data, (const void*)a.params, a.n, (const uint4*)b.data, (const void*)b.params, b.n,
        (const uint4*)c.data, (const void*)c.params, c.n, l.k, f.group, f.blockRows, l.k / 128, x, m, out, (long long)l.rows, outF32,
        splits, gPartials, gCounters, 0));
}

static void launch_silu(SiluKernel kernel, int threads, const Format& f, const Linear& l, const bf16_t* x, int m, void* out, cudaStream_t s)
{
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config((l.parts[0].n + 15) / 16, threads, s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, kernel, (const uint4*)l.parts[0].data, (const void*)l.parts[0].params, (const uint4*)l.parts[1].data,
        (const void*)l.parts[1].params, l.parts[0].n, l.k, f.group, f.blockRows, l.k / 128, x, m, (bf16_t*)out));
}

static void launch_bf16(const Linear& l, const bf16_t* x, int m, void* out, cudaStream_t s)
{
    int wpr = l.rows <= 16384 && l.k >= 8192 ? 4 : 1;   // CudaBackend.Fast.cs's split rule
    Part e{nullptr, nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchAttribute attribute;
    cudaLaunchConfig_t cfg = config((l.rows + 8 / wpr - 1) / (8 / wpr), 256, s, &attribute);
    CK(cudaLaunchKernelEx(&cfg, gemv_bf16, (const bf16_t*)a.dense, a.n, (const bf16_t*)b.dense, b.n, (const bf16_t*)c.dense, c.n, x, m, l.k,
        out, (long long)l.rows, 0, wpr));
}

static double max_rel(const std::vector<float>& a, const std::vector<float>& b)
{
    double maxRef = 0, maxDiff = 0;
    for (size_t i = 0; i < a.size(); i++) { maxRef = fmax(maxRef, fabs(a[i])); double d = fabs((double)a[i] - b[i]); if (!(d <= maxDiff)) maxDiff = d; }
    return maxDiff / (maxRef > 0 ? maxRef : 1);
}

static std::vector<float> fetch_f32(const void* p, size_t n)
{
    std::vector<float> v(n);
    CK(cudaMemcpy(v.data(), p, n * 4, cudaMemcpyDeviceToHost));
    return v;
}

static std::vector<float> fetch_bf16(const void* p, size_t n)
{
    std::vector<unsigned short> h(n);
    CK(cudaMemcpy(h.data(), p, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) { unsigned int u = (unsigned int)h[i] << 16; memcpy(&v[i], &u, 4); }
    return v;
}

// µs per captured call of `enqueue` (which enqueues one layer's worth per layer index), averaged over NL layers.
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

// Session 11 (branch f8c): one kernel family a column. "old" = gemv_f8_wide (bf16 widening), "h" = gemv_f8_wide_h
// (cvt.rn.f16x2.e4m3x2 + f16 MMA on sm_89+); W = warps a block, S = splits (W = 1, S = 4 sums a tile as W = 4 does).
struct Variant { const char* label; bool h; int warps, splits; };

static int bit_diffs(const std::vector<float>& a, const std::vector<float>& b)
{
    int n = 0;
    for (size_t i = 0; i < a.size(); i++) n += memcmp(&a[i], &b[i], 4) != 0;
    return n;
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, NL = 4;
    const char* shapeNames[4] = { "qkv", "o", "gate|up", "down" };
    bool allFormats = getenv("F8_ALL_FORMATS") != nullptr, withBf16 = getenv("F8_BF16") != nullptr;
    Format formats[] = { { "fp8 128x128", 2, 128, 128 }, { "awq-int4 g128", 0, 128, 0 }, { "Q4_K (g4 g32)", 0, 32, 0 } };
    bf16_t* x; void* outA; void* outB;
    CK(cudaMalloc(&x, 8ull * I * 2));
    CK(cudaMalloc(&outA, 8ull * 2 * I * 4));
    CK(cudaMalloc(&outB, 8ull * 2 * I * 4));
    CK(cudaMalloc(&gPartials, 2ull * I / 16 * 8 * 128 * 4));
    CK(cudaMalloc(&gCounters, 2ull * I / 16 * 4));
    CK(cudaMemset(gCounters, 0, 2ull * I / 16 * 4));
    fill(x, 8ull * I * 2, 77, 3);
    cudaStream_t s; CK(cudaStreamCreate(&s));
    printf("variant: QW_LOADS=%d QW_DOUBLE=%d QW_PREFETCH=%d QW_MIN_BLOCKS=%d\n", QW_LOADS, QW_DOUBLE, QW_PREFETCH, QW_MIN_BLOCKS);
    const Variant variants[] = { { "old W=4", false, 4, 1 }, { "h W=4", true, 4, 1 }, { "old W=1 S=4", false, 1, 4 }, { "h W=1 S=4", true, 1, 4 },
        { "h W=1 S=6", true, 1, 6 }, { "old W=8", false, 8, 1 } };
    bool bf16Done = !withBf16;
    for (const Format& f : formats)
    {
        if (!allFormats && f.fmt != 2) continue;
        if ((f.fmt == 0 ? 4 : 2) * QW_LOADS / (f.group / 16) > 8) { printf("%s: skipped (more than 8 groups a stage)\n", f.name); continue; }
        bool fp8 = f.fmt == 2;
        Kernel oldK = fp8 ? gemv_f8_stream : gemv_g4_stream, wideK = fp8 ? gemv_f8_wide : gemv_g4_wide, wideH = fp8 ? gemv_f8_wide_h : gemv_g4_wide;
        SiluKernel wideSilu = fp8 ? gemv_silu_f8_wide : gemv_silu_g4_wide, wideSiluH = fp8 ? gemv_silu_f8_wide_h : gemv_silu_g4_wide;
        bool dense = !bf16Done;
        size_t bytes = 0, denseBytes = 0;
        std::vector<Linear> linears;
        unsigned int seed = 1;
        for (int l = 0; l < NL; l++)
        {
            Linear qkv{}; qkv.count = 3; qkv.k = H; qkv.rows = H + 2 * KV;
            qkv.parts[0] = make_part(f, H, H, seed++, bytes, denseBytes, dense); qkv.parts[1] = make_part(f, KV, H, seed++, bytes, denseBytes, dense);
            qkv.parts[2] = make_part(f, KV, H, seed++, bytes, denseBytes, dense);
            Linear o{}; o.count = 1; o.k = H; o.rows = H; o.parts[0] = make_part(f, H, H, seed++, bytes, denseBytes, dense);
            Linear gu{}; gu.count = 2; gu.k = H; gu.rows = 2 * I;
            gu.parts[0] = make_part(f, I, H, seed++, bytes, denseBytes, dense); gu.parts[1] = make_part(f, I, H, seed++, bytes, denseBytes, dense);
            Linear down{}; down.count = 1; down.k = I; down.rows = H; down.parts[0] = make_part(f, H, I, seed++, bytes, denseBytes, dense);
            linears.push_back(qkv); linears.push_back(o); linears.push_back(gu); linears.push_back(down);
        }
        CK(cudaDeviceSynchronize());
        double layerBytes = (double)bytes / NL;
        double shapeBytes[4];
        for (int li = 0; li < 4; li++)
        {
            const Linear& l = linears[li];
            double b = 0;
            for (int i = 0; i < l.count; i++)
            {
                double tiles = (l.parts[i].n + 15) / 16;
                b += tiles * (fp8 ? 16.0 : 8.0) * l.k + (fp8 ? (double)((l.parts[i].n + 127) / 128) * (l.k / 128) * 4 : tiles * (l.k / f.group) * 64);
            }
            shapeBytes[li] = b;
        }
        // Correctness: every variant against the stream kernel (F32 out) and bit for bit against old W=4; the fused
        // SiLU of each family bit for bit against that family's unfused gate|up + the same rounding.
        double worst = 0;
        for (int m : { 1, 3, 8 })
            for (int li = 0; li < 4; li++)
            {
                const Linear& l = linears[li];
                size_t count = (size_t)m * l.rows;
                CK(cudaMemset(outA, 0, count * 4));
                launch(oldK, 128, f, l, x, m, outA, 1, s);
                CK(cudaStreamSynchronize(s));
                std::vector<float> ref = fetch_f32(outA, count);
                CK(cudaMemset(outA, 0, count * 4));
                launch(wideK, 128, f, l, x, m, outA, 1, s);
                CK(cudaStreamSynchronize(s));
                std::vector<float> base = fetch_f32(outA, count);
                for (const Variant& v : variants)
                {
                    CK(cudaMemset(outB, 0xFF, count * 4));
                    launch(v.h ? wideH : wideK, 32 * v.warps, f, l, x, m, outB, 1, s, v.splits);
                    CK(cudaStreamSynchronize(s));
                    std::vector<float> got = fetch_f32(outB, count);
                    double rel = max_rel(ref, got);
                    if (!(rel <= worst)) worst = rel;
                    int diffs = bit_diffs(base, got);
                    if (!(rel < 1e-4) || (diffs && v.warps * v.splits == 4))
                        printf("  %s %s m=%d %s: max rel diff vs stream %.3g, %d values differ from old W=4\n", rel < 1e-4 ? "note" : "MISMATCH",
                            v.label, m, shapeNames[li], rel, diffs);
                }
                if (li != 2) continue;
                for (int h = 0; h < 2; h++)
                {
                    CK(cudaMemset(outA, 0xFF, (size_t)m * I * 2)); CK(cudaMemset(outB, 0xFF, (size_t)m * I * 2));
                    launch_silu(wideSilu, 256, f, l, x, m, outA, s);
                    launch_silu(h ? wideSiluH : wideSilu, 256, f, l, x, m, outB, s);
                    CK(cudaStreamSynchronize(s));
                    int diffs = bit_diffs(fetch_bf16(outA, (size_t)m * I), fetch_bf16(outB, (size_t)m * I));
                    if (h) printf("  silu h vs old m=%d: %d of %d values differ\n", m, diffs, m * I);
                }
            }
        printf("%s: %.1f MB/layer; worst max rel diff vs stream %.2g\n", f.name, layerBytes / 1e6, worst);
        printf("  shape MB: qkv %.1f  o %.1f  gate|up %.1f  down %.1f\n", shapeBytes[0] / 1e6, shapeBytes[1] / 1e6, shapeBytes[2] / 1e6, shapeBytes[3] / 1e6);
        if (dense)
        {
            double us = time_graph(s, NL, [&](int l) { for (int li = 0; li < 4; li++) launch_bf16(linears[4 * l + li], x, 1, outA, s); });
            printf("  bf16 gemv m=1: layer %6.1f us (%4.0f GB/s)\n", us, (double)denseBytes / NL / (us * 1e-6) / 1e9);
            bf16Done = true;
        }
        // Twice each, alternated, so drift shows. Layer = qkv, o, fused gate|up+silu (same family, W=4), down.
        for (int m : { 1, 2, 8 })
            for (int rep = 0; rep < 2; rep++)
                for (const Variant& v : variants)
                {
                    if (m == 8 && v.h) continue;   // m > QW_XH_ROWS: the h kernel runs the bf16 path
                    Kernel k = v.h ? wideH : wideK;
                    SiluKernel sk = v.h ? wideSiluH : wideSilu;
                    int threads = 32 * v.warps;
                    double us[6];
                    us[0] = time_graph(s, NL, [&](int l) {
                        launch(k, threads, f, linears[4 * l], x, m, outA, 0, s, v.splits);
                        launch(k, threads, f, linears[4 * l + 1], x, m, outA, 0, s, v.splits);
                        launch_silu(sk, 256, f, linears[4 * l + 2], x, m, outA, s);
                        launch(k, threads, f, linears[4 * l + 3], x, m, outA, 0, s, v.splits);
                    });
                    for (int li = 0; li < 4; li++) us[li + 1] = time_graph(s, NL, [&](int l) { launch(k, threads, f, linears[4 * l + li], x, m, outA, 0, s, v.splits); });
                    us[5] = time_graph(s, NL, [&](int l) { launch_silu(sk, 256, f, linears[4 * l + 2], x, m, outA, s); });
                    printf("  %-12s m=%d: layer %6.1f us (%4.0f GB/s)  qkv %5.1f (%4.0f)  o %5.1f (%4.0f)  gate|up %5.1f (%4.0f)  down %5.1f (%4.0f)  gate|up+silu W=4 %5.1f (%4.0f)\n",
                        v.label, m, us[0], layerBytes / (us[0] * 1e-6) / 1e9,
                        us[1], shapeBytes[0] / (us[1] * 1e-6) / 1e9, us[2], shapeBytes[1] / (us[2] * 1e-6) / 1e9,
                        us[3], shapeBytes[2] / (us[3] * 1e-6) / 1e9, us[4], shapeBytes[3] / (us[4] * 1e-6) / 1e9,
                        us[5], shapeBytes[2] / (us[5] * 1e-6) / 1e9);
                }
        for (Linear& l : linears)
            for (int i = 0; i < l.count; i++)
            {
                CK(cudaFree(l.parts[i].data)); CK(cudaFree(l.parts[i].params));
                if (l.parts[i].dense) CK(cudaFree(l.parts[i].dense));
            }
    }
    return 0;
}
