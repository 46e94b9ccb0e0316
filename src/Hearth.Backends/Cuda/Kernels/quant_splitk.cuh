// The split-k end and the pre-wait L2 prefetch of the quantized decode GEMVs (gemv_quant_stream.cu, gemv_quant_wide.cu).

#ifndef HEARTH_QUANT_SPLITK_CUH
#define HEARTH_QUANT_SPLITK_CUH

// The end of a k-split quantized GEMV tile (gemv_quant_stream.cu, gemv_quant_wide.cu: blockIdx.x = tile · splits +
// split). Threads 0-127 hold the block's 128 sums (value threadIdx.x of the 16 x 8 tile). With splits = 1 they are the
// result. Otherwise every block stores its sums as f32 partials [tile, split, 128], and the block that finishes its
// tile last (an atomic per-tile counter) adds the partials in split order, so the result does not depend on which
// block arrived when, then resets the counter for the next launch or graph replay. Every thread of the block must
// call it, after HEARTH_PDL_WAIT (partials and counters are shared by consecutive launches). Returns whether this
// block writes the tile (sum then holds the total in threads 0-127).
__device__ __forceinline__ bool splitk_finish(float& sum, int tile, int split, int splits, float* partials, int* counters)
{
    if (splits == 1) return true;
    __shared__ int splitkIsLast;
    int tid = threadIdx.x;
    if (tid < 128) __stcg(partials + ((size_t)tile * splits + split) * 128 + tid, sum);
    __threadfence();
    __syncthreads();
    if (tid == 0) splitkIsLast = atomicAdd(counters + tile, 1) == splits - 1;
    __syncthreads();
    if (!splitkIsLast) return false;
    __threadfence();
    if (tid < 128)
    {
        const float* p = partials + (size_t)tile * splits * 128 + tid;
        float total = 0.0f;
        for (int i = 0; i < splits; i++) total += __ldcg(p + (size_t)i * 128);
        sum = total;
    }
    if (tid == 0) counters[tile] = 0;
    return true;
}

// Weight lines a quantized GEMV's warp pulls into L2 before HEARTH_PDL_WAIT (prefetchLines, a kernel argument), so that
// a launch's weights start streaming while its predecessors finish: up to `lines` 128-byte lines of stages [first, s1)
// (stageBytes each, contiguous from tileData), one line a lane at a time. No registers, no effect on the arithmetic.
__device__ __forceinline__ void qs_pdl_prefetch(const uint4* tileData, int first, int s1, int stageBytes, int lane, int lines)
{
    if (lines <= 0 || first >= s1) return;
    lines = min((s1 - first) * (stageBytes >> 7), lines);
    const unsigned char* from = (const unsigned char*)tileData + (size_t)first * stageBytes;
    for (int i = lane; i < lines; i += 32) prefetch_l2(from + (size_t)i * 128);
}

#endif  // HEARTH_QUANT_SPLITK_CUH
