// Batch 1-4 matrix-vector products for decode: y[m, ldOut] = x[m, k] * W[n, k]^T with bf16 W and x and F32
// accumulation. At these batch sizes the product is bound by streaming W once, so each warp owns one output
// row and streams it with 16-byte loads, GEMV_UNROLL loads in flight per lane; x is small and stays in L1/L2.
// Up to three weight parts (q|k|v, gate|up) are served by one launch: output row r belongs to the part
// whose row range holds it. Requires k % 8 == 0 and 16-byte aligned rows (checked on the host). Both kernels are
// written for programmatic dependent launch (common.cu): every warp prefetches its first weights, then waits.

#define GEMV_WARPS 8
#define GEMV_UNROLL 4
#define GEMV_MAX_M 4

// Lanes stride over the 16-byte chunks [c0, c1) of one weight row (and the same chunks of each x row).
template <int M>
__device__ __forceinline__ void gemv_range(const bf16_t* __restrict__ w, const bf16_t* __restrict__ x, int k, int c0, int c1, float* acc)
{
    const uint4* wRow = (const uint4*)w;
    int c = c0 + (threadIdx.x & 31);
    for (; c + 32 * (GEMV_UNROLL - 1) < c1; c += 32 * GEMV_UNROLL)
    {
        uint4 wv[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) wv[u] = load_streaming(wRow + c + 32 * u);
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++)
        {
            float wf[8];
            bf16x8_to_f32(wv[u], wf);
#pragma unroll
            for (int m = 0; m < M; m++)
            {
                float xf[8];
                bf16x8_to_f32(__ldg((const uint4*)(x + (size_t)m * k) + c + 32 * u), xf);
#pragma unroll
                for (int i = 0; i < 8; i++) acc[m] = fmaf(wf[i], xf[i], acc[m]);
            }
        }
    }
    for (; c < c1; c += 32)
    {
        float wf[8];
        bf16x8_to_f32(load_streaming(wRow + c), wf);
#pragma unroll
        for (int m = 0; m < M; m++)
        {
            float xf[8];
            bf16x8_to_f32(__ldg((const uint4*)(x + (size_t)m * k) + c), xf);
#pragma unroll
            for (int i = 0; i < 8; i++) acc[m] = fmaf(wf[i], xf[i], acc[m]);
        }
    }
}

// PDL: the weights are no kernel's output, so the first GEMV_PREFETCH_LOADS loads of each lane are pulled into L2
// before the wait, while the previous kernel finishes.
#define GEMV_PREFETCH_LOADS 8

__device__ __forceinline__ void gemv_prefetch(const bf16_t* w, int c0, int c1)
{
    const uint4* wRow = (const uint4*)w;
#pragma unroll
    for (int u = 0; u < GEMV_PREFETCH_LOADS; u++)
    {
        int c = c0 + (threadIdx.x & 31) + 32 * u;
        if (c < c1) prefetch_l2(wRow + c);
    }
}

// WPR warps share one output row, each taking a contiguous WPR-th of k (partial sums meet in shared
// memory): matrices with few rows then still spread evenly over the GPU instead of ending in a thin last wave.
template <int M, int WPR>
__device__ __forceinline__ void gemv_body(const bf16_t* w0, int n0, const bf16_t* w1, int n1, const bf16_t* w2, int n2,
    const bf16_t* x, int k, void* out, long long ldOut, int outF32)
{
    __shared__ float partial[GEMV_WARPS][GEMV_MAX_M];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int row = blockIdx.x * (GEMV_WARPS / WPR) + warp / WPR, part = warp % WPR;
    bool valid = row < n0 + n1 + n2;
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.0f;
    const bf16_t* w = w0;
    int chunks = k >> 3, perPart = (chunks + WPR - 1) / WPR;
    int c0 = part * perPart, c1 = min(chunks, c0 + perPart);
    if (valid)
    {
        if (row < n0) w = w0 + (size_t)row * k;
        else if (row < n0 + n1) w = w1 + (size_t)(row - n0) * k;
        else w = w2 + (size_t)(row - n0 - n1) * k;
        gemv_prefetch(w, c0, c1);
    }
    HEARTH_PDL_WAIT();
    if (valid) gemv_range<M>(w, x, k, c0, c1, acc);
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = warp_sum(acc[m]);
    if (WPR > 1)
    {
        if (lane == 0)
        {
#pragma unroll
            for (int m = 0; m < M; m++) partial[warp][m] = acc[m];
        }
        __syncthreads();
        if (part != 0) return;
#pragma unroll
        for (int m = 0; m < M; m++)
        {
            float sum = 0.0f;
#pragma unroll
            for (int p = 0; p < WPR; p++) sum += partial[warp + p][m];
            acc[m] = sum;
        }
    }
    if (valid && lane == 0)
    {
#pragma unroll
        for (int m = 0; m < M; m++)
        {
            if (outF32) ((float*)out)[m * ldOut + row] = acc[m];
            else ((bf16_t*)out)[m * ldOut + row] = f32_to_bf16(acc[m]);
        }
    }
}

template <int WPR>
__device__ __forceinline__ void gemv_dispatch(const bf16_t* w0, int n0, const bf16_t* w1, int n1, const bf16_t* w2, int n2,
    const bf16_t* x, int m, int k, void* out, long long ldOut, int outF32)
{
    switch (m)
    {
        case 1: gemv_body<1, WPR>(w0, n0, w1, n1, w2, n2, x, k, out, ldOut, outF32); break;
        case 2: gemv_body<2, WPR>(w0, n0, w1, n1, w2, n2, x, k, out, ldOut, outF32); break;
        case 3: gemv_body<3, WPR>(w0, n0, w1, n1, w2, n2, x, k, out, ldOut, outF32); break;
        default: gemv_body<4, WPR>(w0, n0, w1, n1, w2, n2, x, k, out, ldOut, outF32); break;
    }
}

// warpsPerRow is 1 or 4; the grid has ceil(rows / (GEMV_WARPS / warpsPerRow)) blocks.
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS) gemv_bf16(const bf16_t* w0, int n0, const bf16_t* w1, int n1,
    const bf16_t* w2, int n2, const bf16_t* x, int m, int k, void* out, long long ldOut, int outF32, int warpsPerRow)
{
    HEARTH_PDL_LAUNCH();
    if (warpsPerRow == 4) gemv_dispatch<4>(w0, n0, w1, n1, w2, n2, x, m, k, out, ldOut, outF32);
    else gemv_dispatch<1>(w0, n0, w1, n1, w2, n2, x, m, k, out, ldOut, outF32);
}

// gate|up GEMV with SiLU·mul in the epilogue, for decode (1-4 rows): warp j computes gate row j and up row j of
// wGate, wUp [n, k] and writes out[m, j] = silu(g)·u [m, n], so neither the [m, 2n] gate|up activations nor a
// separate silu_mul launch is needed. g and u are rounded to bf16 first, as the unfused path stores them, so the
// result is the unfused path's bit for bit.
template <int M>
__device__ __forceinline__ void gemv_silu_body(const bf16_t* wGate, const bf16_t* wUp, int n, const bf16_t* x, int k, bf16_t* out)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int row = blockIdx.x * GEMV_WARPS + warp;
    if (row < n)
    {
        gemv_prefetch(wGate + (size_t)row * k, 0, k >> 3);
        gemv_prefetch(wUp + (size_t)row * k, 0, k >> 3);
    }
    HEARTH_PDL_WAIT();
    if (row >= n) return;   // whole warps only: row is the same for every lane
    float g[M], u[M];
#pragma unroll
    for (int m = 0; m < M; m++) { g[m] = 0.0f; u[m] = 0.0f; }
    gemv_range<M>(wGate + (size_t)row * k, x, k, 0, k >> 3, g);
    gemv_range<M>(wUp + (size_t)row * k, x, k, 0, k >> 3, u);
#pragma unroll
    for (int m = 0; m < M; m++) { g[m] = warp_sum(g[m]); u[m] = warp_sum(u[m]); }
    if (lane == 0)
    {
#pragma unroll
        for (int m = 0; m < M; m++)
        {
            float gate = bf16_to_f32(f32_to_bf16(g[m])), up = bf16_to_f32(f32_to_bf16(u[m]));
            out[(size_t)m * n + row] = f32_to_bf16(gate / (1.0f + expf(-gate)) * up);
        }
    }
}

// The grid has ceil(n / GEMV_WARPS) blocks of 32 * GEMV_WARPS threads.
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS) gemv_silu_bf16(const bf16_t* wGate, const bf16_t* wUp, int n,
    const bf16_t* x, int m, int k, bf16_t* out)
{
    HEARTH_PDL_LAUNCH();
    switch (m)
    {
        case 1: gemv_silu_body<1>(wGate, wUp, n, x, k, out); break;
        case 2: gemv_silu_body<2>(wGate, wUp, n, x, k, out); break;
        case 3: gemv_silu_body<3>(wGate, wUp, n, x, k, out); break;
        default: gemv_silu_body<4>(wGate, wUp, n, x, k, out); break;
    }
}
