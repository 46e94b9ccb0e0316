// Decode attention (one query token per sequence) on tensor cores, mma.sync m16n8k16 bf16 -> f32 (sm_80+).
// Block (sequence, kv head, split) as in decode_fused.cu, with the same split rule (count from the host, key
// range from seqLens on the device, so captured graphs stay valid) and the same end (decode_split_finish).
// The GQA group's query heads (up to 8) are rows 0..7 of the MMA's M; rows 8..15 are zero, so the A registers
// a1/a3 are zero and only two of the four accumulators live. Each warp takes 16 keys a round (two n-tiles of
// QK^T, one k-step of PV), so every key and value row is read once per group, 16 bytes per load.
//
// Dims are permuted so that every operand comes straight from global memory in 16-byte loads, no shared memory:
// - QK^T: lane (g, t) (g = lane / 4, t = lane % 4) loads a quarter of a row, dims [t D/4, (t+1) D/4), of query
//   head g (the A rows) and of key g of each n-tile (B's column g); k-step j takes dims 4j..4j+3 of that
//   quarter as the slot pairs (2t, 2t+1) and (2t+8, 2t+9). A and B share the permutation, so the sum is the dot.
// - PV: the scores' accumulator layout is P's A layout (keys 2t, 2t+1 of each n-tile). Output column n of n-tile j
//   is dim n D/8 + j, so lane (g, t) loads dims [g D/8, (g+1) D/8) of value rows 2t, 2t+1, 2t+8, 2t+9 and pairs
//   two rows' values of one dim with a byte permute to make B.
// Scores are in log2 units (scale * log2 e applied in f32); P is rounded to bf16 for the MMA and the denominator
// sums the same rounded weights. FP8 caches (e4m3) widen to bf16 in registers (exact).
//
// Shared by decode_mma.cu (the register kernel, with or without the fused q/k norm and RoPE) and
// decode_mma_pipe.cu (the cp.async-pipelined kernel).

#ifndef HEARTH_DECODE_MMA_CUH
#define HEARTH_DECODE_MMA_CUH

// D += A B for an m16n8k16 tile whose A rows 8..15 are zero: c holds the two accumulators of row g.
__device__ __forceinline__ void dm_mma_top(float* c, unsigned int a0, unsigned int a2, unsigned int b0, unsigned int b1)
{
    float unused0, unused1;
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};"
        : "=f"(c[0]), "=f"(c[1]), "=f"(unused0), "=f"(unused1)
        : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1), "f"(c[0]), "f"(c[1]), "f"(0.0f), "f"(0.0f));
}

// NW bf16x2 words (2 NW consecutive elements from element index `element`, 16-byte aligned in bf16, 8 in e4m3).
template <int NW, bool FP8>
__device__ __forceinline__ void dm_load_words(const void* cache, long long element, unsigned int* w)
{
    if (FP8)
    {
        const unsigned char* p = (const unsigned char*)cache + element;
        if (NW == 4)
        {
            uint2 v = *(const uint2*)p;
            uint2 a = fp8x4_to_bf16x4(v.x), b = fp8x4_to_bf16x4(v.y);
            w[0] = a.x; w[1] = a.y; w[2] = b.x; w[3] = b.y;
        }
        else
        {
#pragma unroll
            for (int i = 0; i < NW / 8; i++)
            {
                uint4 v = ((const uint4*)p)[i];
                uint2 a = fp8x4_to_bf16x4(v.x), b = fp8x4_to_bf16x4(v.y), c = fp8x4_to_bf16x4(v.z), d = fp8x4_to_bf16x4(v.w);
                w[8 * i + 0] = a.x; w[8 * i + 1] = a.y; w[8 * i + 2] = b.x; w[8 * i + 3] = b.y;
                w[8 * i + 4] = c.x; w[8 * i + 5] = c.y; w[8 * i + 6] = d.x; w[8 * i + 7] = d.y;
            }
        }
    }
    else
    {
        const uint4* p = (const uint4*)((const bf16_t*)cache + element);
#pragma unroll
        for (int i = 0; i < NW / 4; i++)
        {
            uint4 v = p[i];
            w[4 * i + 0] = v.x; w[4 * i + 1] = v.y; w[4 * i + 2] = v.z; w[4 * i + 3] = v.w;
        }
    }
}

// The paged cache row (element offset) of key position pos for kv head kvh.
template <int D>
__device__ __forceinline__ long long dm_cache_row(const int* table, int pos, int blockSize, int kvHeads, int kvh)
{
    return (((long long)table[pos / blockSize] * blockSize + pos % blockSize) * kvHeads + kvh) * D;
}

__device__ __forceinline__ unsigned int dm_pack_bf16x2(float lo, float hi)
{
    return (unsigned int)f32_to_bf16(lo) | ((unsigned int)f32_to_bf16(hi) << 16);
}

// The rows of one 16-key round that lane (g, t) reads, from the lane that looked up key i's row (lane i and i + 16):
// keys g and g + 8 of QK^T's two n-tiles, and value rows 2t, 2t+1, 2t+8, 2t+9 of PV. Every lane must call it.
struct DmRoundRows { long long k0, k1, v0, v1, v2, v3; };

__device__ __forceinline__ DmRoundRows dm_round_rows(long long myRow, int g, int t)
{
    DmRoundRows r;
    r.k0 = __shfl_sync(0xffffffffu, myRow, g);
    r.k1 = __shfl_sync(0xffffffffu, myRow, g + 8);
    r.v0 = __shfl_sync(0xffffffffu, myRow, 2 * t);
    r.v1 = __shfl_sync(0xffffffffu, myRow, 2 * t + 1);
    r.v2 = __shfl_sync(0xffffffffu, myRow, 2 * t + 8);
    r.v3 = __shfl_sync(0xffffffffu, myRow, 2 * t + 9);
    return r;
}

// A round's key quarters and value eighths into registers. With FROM >= 0 only the rows of keys at round offset FROM
// or later (clamped keys included) are loaded again: the newest key, which the preceding kernel wrote after the first
// load was issued before the PDL wait.
template <int D, bool FP8>
__device__ __forceinline__ void dm_load_round(const void* keyCache, const void* valueCache, const DmRoundRows& r, int g, int t,
    int from, unsigned int* k0, unsigned int* k1, unsigned int* v0, unsigned int* v1, unsigned int* v2, unsigned int* v3)
{
    if (g >= from) dm_load_words<D / 8, FP8>(keyCache, r.k0 + t * (D / 4), k0);
    if (g + 8 >= from) dm_load_words<D / 8, FP8>(keyCache, r.k1 + t * (D / 4), k1);
    if (2 * t >= from) dm_load_words<D / 16, FP8>(valueCache, r.v0 + g * (D / 8), v0);
    if (2 * t + 1 >= from) dm_load_words<D / 16, FP8>(valueCache, r.v1 + g * (D / 8), v1);
    if (2 * t + 8 >= from) dm_load_words<D / 16, FP8>(valueCache, r.v2 + g * (D / 8), v2);
    if (2 * t + 9 >= from) dm_load_words<D / 16, FP8>(valueCache, r.v3 + g * (D / 8), v3);
}

#endif  // HEARTH_DECODE_MMA_CUH
