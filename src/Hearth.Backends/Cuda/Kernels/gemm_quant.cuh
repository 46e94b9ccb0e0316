// The quantized GEMM's constants, cp.async and MMA primitives and launch arguments (gemm_quant.cu), kept apart so the
// kernel file holds the stage loader and the per-format body.

#ifndef HEARTH_GEMM_QUANT_CUH
#define HEARTH_GEMM_QUANT_CUH

#ifndef GQ_WARPS
#define GQ_WARPS 4
#endif
#define GQ_STAGES 4
#define GQ_BK 64
#define GQ_TPW 2
#define GQ_TPB (GQ_WARPS * GQ_TPW)
#define GQ_MAX_GROUPS 4

__device__ __forceinline__ unsigned int gq_smem_addr(const void* p)
{
    unsigned int a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// bytes = 0 zero-fills the destination (rows past the batch, tiles past the part).
__device__ __forceinline__ void gq_cp16(void* dst, const void* src, bool valid)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(gq_smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void gq_cp4(void* dst, const void* src, bool valid)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" :: "r"(gq_smem_addr(dst)), "l"(src), "r"(valid ? 4 : 0));
}

__device__ __forceinline__ void gq_commit() { asm volatile("cp.async.commit_group;"); }

template <int N>
__device__ __forceinline__ void gq_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }

__device__ __forceinline__ unsigned int gq_fma2(unsigned int a, unsigned int b, unsigned int c)
{
    unsigned int r;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

__device__ __forceinline__ unsigned int gq_bf16x2(float lo, float hi)
{
    unsigned int r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ float gq_half(unsigned int bits)
{
    float f;
    unsigned short h = (unsigned short)bits;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned int gq_prmt(unsigned int a, unsigned int b, unsigned int s)
{
    unsigned int r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(s));
    return r;
}

__device__ __forceinline__ void gq_mma(float* c, const unsigned int* a, unsigned int b0, unsigned int b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void gq_mma_fp8(float* c, const unsigned int* a, unsigned int b0, unsigned int b1)
{
#if __CUDA_ARCH__ >= 890
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Two e4m3 bytes of w (chosen by selector) -> the exact values as bf16x2 (see qm_e4m3x2 in gemv_quant.cu).
__device__ __forceinline__ unsigned int gq_e4m3x2(unsigned int w, unsigned int selector)
{
    unsigned int t = gq_prmt(w, 0u, selector);
    unsigned int bits = ((t & 0x007F007Fu) << 4) | ((t & 0x00800080u) << 8);
    return gq_fma2(bits, 0x7B807B80u, 0x80008000u);
}

struct GqArgs
{
    const unsigned char* data[3];
    const void* params[3];
    int n[3];
    int k, group, blockRows, scaleCols;
    const void* x;              // bf16 [m, k], or (FMT 3) e4m3 [m, k]
    const float* xScales;       // FMT 3: F32 [m, k / group]
    int m;
    void* out;
    long long ldOut;
    int outF32, splits, nSum;
    float* partials;            // [splits][m][nSum] when splits > 1
    unsigned int* counters;     // [gridDim.x * gridDim.z], zero between launches
};

#endif  // HEARTH_GEMM_QUANT_CUH
