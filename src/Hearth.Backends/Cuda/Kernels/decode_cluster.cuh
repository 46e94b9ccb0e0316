// The end of a split decode kernel launched in thread-block clusters along its split axis (sm_90+, CudaBackend.Pdl.cs
// LaunchCluster): when every split with keys lies in the first cluster of its (sequence, kv head), the blocks combine
// their partials through distributed shared memory, two cluster barriers instead of decode_split_finish's global
// partials, fence, atomic counter and the last block's re-read (3-4 dependent L2 round trips at batch 1). Otherwise
// (more active splits than a cluster, no cluster, or sm_80) the caller takes decode_split_finish, unchanged.

#ifndef HEARTH_DECODE_CLUSTER_CUH
#define HEARTH_DECODE_CLUSTER_CUH

// The largest cluster the host launches (DecodeClusterPlan.MaxClusterSize): the combine's registers per rank.
#define DF_CLUSTER_MAX 8

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define DC_HAS_CLUSTER 1
#else
#define DC_HAS_CLUSTER 0
#endif

// Blocks in this block's cluster (1 when launched without one, and always below sm_90).
__device__ __forceinline__ int dc_cluster_blocks()
{
#if DC_HAS_CLUSTER
    unsigned int n;
    asm("mov.u32 %0, %%cluster_nctarank;" : "=r"(n));
    return (int)n;
#else
    return 1;
#endif
}

// Every thread of the cluster arrives; the release/acquire pair makes each block's shared-memory writes before it
// visible to every block's reads after it.
__device__ __forceinline__ void dc_cluster_sync()
{
#if DC_HAS_CLUSTER
    asm volatile("barrier.cluster.arrive.release;\n\tbarrier.cluster.wait.acquire;" ::: "memory");
#endif
}

// A float in block `rank`'s shared memory at the address that `local` has in this block's.
__device__ __forceinline__ float dc_load_remote(const float* local, int rank)
{
#if DC_HAS_CLUSTER
    unsigned int address, remote;
    float value;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(address) : "l"(local));
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(address), "r"(rank));
    asm volatile("ld.shared::cluster.f32 %0, [%1];" : "=f"(value) : "r"(remote) : "memory");
    return value;
#else
    return 0.0f;
#endif
}

// True when this launch's splits of (s, kvh) combine in their cluster: more than one split has keys and all of them
// are ranks of the first cluster (splits run along z, so split i is rank i there). Uniform over the cluster.
__device__ __forceinline__ bool dc_combines_in_cluster(int active)
{
    return DC_HAS_CLUSTER && active > 1 && active <= min(dc_cluster_blocks(), DF_CLUSTER_MAX);
}

// warpAcc [DF_WARPS, group, headDim] and warpMax/warpSum [DF_WARPS][group] hold this block's warps' results when
// `hasKeys` (as decode_split_finish expects); the warps are merged into warp 0's slot first. A block of the first
// cluster whose split has no keys still takes part in both barriers and writes its share of the output.
__device__ __forceinline__ void dc_cluster_finish(float* warpAcc, float (*warpMax)[DF_MAX_GROUP], float (*warpSum)[DF_MAX_GROUP],
    bool hasKeys, int s, int kvh, int split, int heads, int group, int headDim, int active, bf16_t* out)
{
    __shared__ float blockMax[DF_MAX_GROUP], blockSum[DF_MAX_GROUP];   // this block's merged max and denominator per head
    int tid = threadIdx.x;
    if (hasKeys)
    {
        __syncthreads();
        // Each element is read (all warps) and written (warp 0's slot) by one thread only, so in place is safe.
        for (int idx = tid; idx < group * headDim; idx += DF_THREADS)
        {
            int g = idx / headDim, d = idx % headDim;
            float mx = HEARTH_NEG_INF;
#pragma unroll
            for (int w = 0; w < DF_WARPS; w++) mx = fmaxf(mx, warpMax[w][g]);
            float o = 0.0f, sum = 0.0f;
#pragma unroll
            for (int w = 0; w < DF_WARPS; w++)
            {
                float weight = warpMax[w][g] == HEARTH_NEG_INF ? 0.0f : exp2f(warpMax[w][g] - mx);
                o += weight * warpAcc[(w * group + g) * headDim + d];
                sum += weight * warpSum[w][g];
            }
            warpAcc[g * headDim + d] = o;
            if (d == 0) { blockMax[g] = mx; blockSum[g] = sum; }
        }
    }
    dc_cluster_sync();
    // Rank r writes elements r * DF_THREADS + tid, ... of the group's heads: all ranks' loads in flight together.
    int blocks = dc_cluster_blocks();
    for (int idx = split * DF_THREADS + tid; idx < group * headDim; idx += blocks * DF_THREADS)
    {
        int g = idx / headDim, d = idx % headDim;
        float m[DF_CLUSTER_MAX], sum[DF_CLUSTER_MAX], o[DF_CLUSTER_MAX];
#pragma unroll
        for (int r = 0; r < DF_CLUSTER_MAX; r++)
            if (r < active)
            {
                m[r] = dc_load_remote(&blockMax[g], r);
                sum[r] = dc_load_remote(&blockSum[g], r);
                o[r] = dc_load_remote(&warpAcc[g * headDim + d], r);
            }
        float mx = HEARTH_NEG_INF;
#pragma unroll
        for (int r = 0; r < DF_CLUSTER_MAX; r++)
            if (r < active) mx = fmaxf(mx, m[r]);
        float total = 0.0f, acc = 0.0f;
#pragma unroll
        for (int r = 0; r < DF_CLUSTER_MAX; r++)
            if (r < active)
            {
                float weight = m[r] == HEARTH_NEG_INF ? 0.0f : exp2f(m[r] - mx);
                total += weight * sum[r];
                acc += weight * o[r];
            }
        out[((size_t)s * heads + kvh * group + g) * headDim + d] = f32_to_bf16(total > 0.0f ? acc / total : 0.0f);
    }
    dc_cluster_sync();   // no block exits while another may still read its shared memory
}

#endif  // HEARTH_DECODE_CLUSTER_CUH
