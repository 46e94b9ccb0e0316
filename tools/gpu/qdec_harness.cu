// Issue 8, sessions 5-6 (q4: the fused gate|up + SiLU·mul timed too): timing harness for the batch-1..8 quantized GEMV, compiled ON THE GPU MACHINE by qdec_run.sh
// and pdl_run.sh after the kernels (cat common.cu gemv_quant.cu gemv_quant_stream.cu qdec_harness.cu). At Qwen3-14B's layer shapes
// (q|k|v fused, o, gate|up fused, down), random weights and params: checks the streaming kernels against
// gemv_g*/gemv_f8 (the parity-checked kernels) at m = 1, 3, 8, then times both, two layers replayed from a CUDA graph.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

__device__ unsigned int h_hash(unsigned long long i, unsigned int seed)
{
    unsigned int h = (unsigned int)(i * 2654435761ull) ^ seed ^ (unsigned int)(i >> 32) * 0x27d4eb2du;
    h ^= h >> 15; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
    return h;
}

// kind 0: raw bytes (& mask), 1: half2 (scale, offset) params, 2: f32 scales, 3: bf16 pairs in ±[0.5, 1)
__global__ void h_fill(unsigned int* p, size_t words, unsigned int seed, int kind, unsigned int mask)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x)
    {
        unsigned int h = h_hash(i, seed), v;
        if (kind == 0) v = h & mask;
        else if (kind == 1) v = (0x1C00u | (h & 0x3FFu)) | ((0x2000u | ((h >> 10) & 0x3FFu) | ((h >> 4) & 0x8000u)) << 16);
        else if (kind == 2) v = 0x3A800000u | (h & 0x7FFFFFu);
        else v = (0x3F00u | (h & 0x7Fu) | (h & 0x8000u)) | ((0x3F00u | ((h >> 16) & 0x7Fu) | ((h << 8) & 0x8000u)) << 16);
        p[i] = v;
    }
}

static void fill(void* p, size_t bytes, unsigned int seed, int kind, unsigned int mask = 0xFFFFFFFFu)
{
    h_fill<<<1024, 256>>>((unsigned int*)p, bytes / 4, seed, kind, mask);
    CK(cudaGetLastError());
}

struct Part { void* data; void* params; int n; };
struct Linear { Part parts[3]; int count, k; };
struct Format { const char* name; int fmt, group, blockRows; };

static Part make_part(const Format& f, int n, int k, unsigned int seed, size_t& bytes)
{
    Part p{nullptr, nullptr, n};
    size_t tiles = (n + 15) / 16, dataBytes = tiles * (f.fmt == 0 ? 8ull : 16ull) * k;
    size_t paramBytes = f.fmt == 2 ? (size_t)((n + f.blockRows - 1) / f.blockRows) * (k / f.group) * 4 : tiles * (k / f.group) * 64;
    CK(cudaMalloc(&p.data, dataBytes));
    CK(cudaMalloc(&p.params, paramBytes));
    fill(p.data, dataBytes, seed, 0, f.fmt == 2 ? 0xF7F7F7F7u : 0xFFFFFFFFu);
    fill(p.params, paramBytes, seed ^ 0x9e3779b9u, f.fmt == 2 ? 2 : 1);
    bytes += dataBytes + paramBytes;
    return p;
}

// The 16-column kernels (gemv_quant.cu) take the arguments up to outF32; the streaming kernels four more since session 8
// (splits, partials, counters, prefetchLines: here 1, none, none, 0, i.e. unsplit and no L2 prefetch).
typedef const void* Kernel;

// tilesPerBlock: tiles a block takes (1 for today's kernels); pdl: launched with programmatic stream
// serialization (sm_90+), as the backend launches the streaming kernels there.
static void launch(Kernel kernel, bool stream, int threads, const Format& f, const Linear& l, const bf16_t* x, int m, void* out, int outF32,
    cudaStream_t s, int tilesPerBlock = 1, bool pdl = false)
{
    int tiles = 0, ldOut = 0;
    for (int i = 0; i < l.count; i++) { tiles += (l.parts[i].n + 15) / 16; ldOut += l.parts[i].n; }
    Part e{nullptr, nullptr, 0};
    const Part& a = l.parts[0]; const Part& b = l.count > 1 ? l.parts[1] : e; const Part& c = l.count > 2 ? l.parts[2] : e;
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3((tiles + tilesPerBlock - 1) / tilesPerBlock);
    config.blockDim = dim3(threads);
    config.stream = s;
    cudaLaunchAttribute attribute;
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    config.attrs = &attribute;
    config.numAttrs = pdl ? 1 : 0;
    const uint4 *ad = (const uint4*)a.data, *bd = (const uint4*)b.data, *cd = (const uint4*)c.data;
    const void *ap = a.params, *bp = b.params, *cp = c.params;
    int an = a.n, bn = b.n, cn = c.n, k = l.k, group = f.group, blockRows = f.blockRows, scaleCols = l.k / 128;
    long long ld = ldOut;
    int splits = 1, prefetchLines = 0;
    float* partials = nullptr; int* counters = nullptr;
    void* args[] = { &ad, &ap, &an, &bd, &bp, &bn, &cd, &cp, &cn, &k, &group, &blockRows, &scaleCols, &x, &m, &out, &ld, &outF32,
        &splits, &partials, &counters, &prefetchLines };
    (void)stream;   // the 16-column kernels read only the first 18 arguments
    CK(cudaLaunchKernelExC(&config, kernel, args));
}

typedef void (*SiluKernel)(const uint4*, const void*, const uint4*, const void*, int, int, int, int, int, const bf16_t*, int, bf16_t*);

// gate|up + SiLU·mul in one launch (gemv_silu_*_stream), PDL: l is a 2-part gate|up linear.
static void launch_silu(SiluKernel kernel, const Format& f, const Linear& l, const bf16_t* x, int m, void* out, cudaStream_t s)
{
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3((l.parts[0].n + 15) / 16);
    config.blockDim = dim3(32 * QS_WARPS);
    config.stream = s;
    cudaLaunchAttribute attribute;
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    config.attrs = &attribute;
    config.numAttrs = 1;
    CK(cudaLaunchKernelEx(&config, kernel, (const uint4*)l.parts[0].data, (const void*)l.parts[0].params, (const uint4*)l.parts[1].data,
        (const void*)l.parts[1].params, l.parts[0].n, l.k, f.group, f.blockRows, l.k / 128, x, m, (bf16_t*)out));
}

int main()
{
    const int H = 5120, I = 17408, KV = 1024, Layers = 2, Replays = 20;
    Format formats[] = { { "awq-int4 g128", 0, 128, 0 }, { "fp8 128x128", 2, 128, 128 }, { "Q4_K (g4 g32)", 0, 32, 0 },
        { "Q6_K (g8 g16)", 1, 16, 0 }, { "Q8_0 (g8 g32)", 1, 32, 0 } };
    Kernel oldK[] = { (Kernel)gemv_g4, (Kernel)gemv_g8, (Kernel)gemv_f8 }, newK[] = { (Kernel)gemv_g4_stream, (Kernel)gemv_g8_stream, (Kernel)gemv_f8_stream };
    SiluKernel siluK[] = { gemv_silu_g4_stream, gemv_silu_g8_stream, gemv_silu_f8_stream };
    bf16_t* x; void* outA; void* outB;
    CK(cudaMalloc(&x, 8ull * I * 2));
    CK(cudaMalloc(&outA, 8ull * 2 * I * 4));
    CK(cudaMalloc(&outB, 8ull * 2 * I * 4));
    fill(x, 8ull * I * 2, 77, 3);
    cudaStream_t s; CK(cudaStreamCreate(&s));
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    {   // device-to-device copy bandwidth, the measured roofline
        void *a, *b; size_t bytes = 1ull << 30;
        CK(cudaMalloc(&a, bytes)); CK(cudaMalloc(&b, bytes));
        CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
        CK(cudaEventRecord(e0, s));
        for (int r = 0; r < 5; r++) CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
        CK(cudaEventRecord(e1, s)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
        printf("d2d copy: %.0f GB/s (read + write)\n", 2.0 * bytes * 5 / (ms * 1e-3) / 1e9);
        CK(cudaFree(a)); CK(cudaFree(b));
    }
    printf("config: QS_WARPS=%d QS_LOADS=%d QS_RING=%d QS_MIN_BLOCKS=%d\n", QS_WARPS, QS_LOADS, QS_RING, QS_MIN_BLOCKS);
    for (const Format& f : formats)
    {
        int ki = f.fmt == 0 ? 0 : f.fmt == 1 ? 1 : 2;
        size_t bytes = 0;
        std::vector<Linear> linears;
        unsigned int seed = 1;
        for (int l = 0; l < Layers; l++)
        {
            Linear qkv{}; qkv.count = 3; qkv.k = H;
            qkv.parts[0] = make_part(f, H, H, seed++, bytes); qkv.parts[1] = make_part(f, KV, H, seed++, bytes); qkv.parts[2] = make_part(f, KV, H, seed++, bytes);
            Linear o{}; o.count = 1; o.k = H; o.parts[0] = make_part(f, H, H, seed++, bytes);
            Linear gu{}; gu.count = 2; gu.k = H; gu.parts[0] = make_part(f, I, H, seed++, bytes); gu.parts[1] = make_part(f, I, H, seed++, bytes);
            Linear down{}; down.count = 1; down.k = I; down.parts[0] = make_part(f, H, I, seed++, bytes);
            linears.push_back(qkv); linears.push_back(o); linears.push_back(gu); linears.push_back(down);
        }
        CK(cudaDeviceSynchronize());
        double layerBytes = (double)bytes / Layers;
        // Correctness: streaming vs the parity-checked kernel, F32 out.
        double worst = 0;
        for (int m : { 1, 3, 8 })
            for (int li = 0; li < 4; li++)
            {
                const Linear& l = linears[li];
                int ld = 0; for (int i = 0; i < l.count; i++) ld += l.parts[i].n;
                CK(cudaMemset(outA, 0, (size_t)m * ld * 4)); CK(cudaMemset(outB, 0xFF, (size_t)m * ld * 4));
                launch(oldK[ki], false, 256, f, l, x, m, outA, 1, s);
                launch(newK[ki], true, 32 * QS_WARPS, f, l, x, m, outB, 1, s);
                CK(cudaStreamSynchronize(s));
                std::vector<float> a((size_t)m * ld), b((size_t)m * ld);
                CK(cudaMemcpy(a.data(), outA, a.size() * 4, cudaMemcpyDeviceToHost));
                CK(cudaMemcpy(b.data(), outB, b.size() * 4, cudaMemcpyDeviceToHost));
                double maxRef = 0, maxDiff = 0;
                for (size_t i = 0; i < a.size(); i++) { maxRef = fmax(maxRef, fabs(a[i])); double d = fabs((double)a[i] - b[i]); if (!(d <= maxDiff)) maxDiff = d; }
                double rel = maxDiff / (maxRef > 0 ? maxRef : 1);
                if (!(rel <= worst)) worst = rel;
                if (!(rel < 1e-4)) printf("  MISMATCH %s m=%d linear %d: max diff %.3g of max %.3g\n", f.name, m, li, maxDiff, maxRef);
            }
        printf("%-14s %.1f MB/layer, stream vs old max rel diff %.2g\n", f.name, layerBytes / 1e6, worst);
        // variant 0: the 16-column kernel; 1: streaming; 2: streaming with PDL launches
        for (int variant = 0; variant < 3; variant++)
            for (int m : { 1, 8 })
            {
                if (variant == 2 && m == 8) continue;
                Kernel k = variant == 0 ? oldK[ki] : newK[ki];
                int threads = variant == 0 ? 256 : 32 * QS_WARPS, perBlock = 1;
                // whole layers, and each linear alone (two layers' copies alternating), from graphs
                double us[5];
                for (int which = -1; which < 4; which++)
                {
                    cudaGraph_t graph; cudaGraphExec_t exec;
                    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
                    for (int li = 0; li < (int)linears.size(); li++)
                        if (which < 0 || li % 4 == which) launch(k, variant != 0, threads, f, linears[li], x, m, outA, 0, s, perBlock, variant == 2);
                    CK(cudaStreamEndCapture(s, &graph));
                    CK(cudaGraphInstantiate(&exec, graph, 0));
                    CK(cudaGraphLaunch(exec, s));
                    CK(cudaEventRecord(e0, s));
                    for (int r = 0; r < Replays; r++) CK(cudaGraphLaunch(exec, s));
                    CK(cudaEventRecord(e1, s)); CK(cudaEventSynchronize(e1));
                    float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
                    us[which + 1] = ms * 1e3 / Replays / Layers;
                    CK(cudaGraphExecDestroy(exec)); CK(cudaGraphDestroy(graph));
                }
                printf("  %-6s m=%d: %7.1f us/layer (%5.0f GB/s)   qkv %.1f  o %.1f  gate|up %.1f  down %.1f us\n", variant == 0 ? "old" : variant == 1 ? "stream" : "s+pdl", m,
                    us[0], layerBytes / (us[0] * 1e-6) / 1e9, us[1], us[2], us[3], us[4]);
            }
        {   // the fused gate|up + SiLU·mul at m = 1 with PDL, against the s+pdl line's gate|up
            cudaGraph_t graph; cudaGraphExec_t exec;
            CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
            for (int li = 2; li < (int)linears.size(); li += 4) launch_silu(siluK[ki], f, linears[li], x, 1, outA, s);
            CK(cudaStreamEndCapture(s, &graph));
            CK(cudaGraphInstantiate(&exec, graph, 0));
            CK(cudaGraphLaunch(exec, s));
            CK(cudaEventRecord(e0, s));
            for (int r = 0; r < Replays; r++) CK(cudaGraphLaunch(exec, s));
            CK(cudaEventRecord(e1, s)); CK(cudaEventSynchronize(e1));
            float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
            printf("  silu   m=1: gate|up + silu_mul fused %.1f us\n", ms * 1e3 / Replays / Layers);
            CK(cudaGraphExecDestroy(exec)); CK(cudaGraphDestroy(graph));
        }
        for (Linear& l : linears) for (int i = 0; i < l.count; i++) { CK(cudaFree(l.parts[i].data)); CK(cudaFree(l.parts[i].params)); }
    }
    return 0;
}
