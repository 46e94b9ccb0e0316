// W8A8 activations: one warp per (row, k-group of `group` values, a multiple of 32): scale = amax / 448 (1 when
// the group is all zeros), q = e4m3(x · (448 / amax)), rounded to nearest even and saturating like the host's
// Float8E4M3.FromSingle. xq e4m3 [rows, k]; scales F32 [rows, k / group].
extern "C" __global__ void fp8_act_quant(const bf16_t* x, int rows, int k, int group, unsigned char* xq, float* scales)
{
    long long warpId = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31, groups = k / group;
    if (warpId >= (long long)rows * groups) return;
    int row = (int)(warpId / groups), grp = (int)(warpId % groups);
    const bf16_t* src = x + (size_t)row * k + (size_t)grp * group;
    float amax = 0.0f;
    for (int i = lane; i < group; i += 32) amax = fmaxf(amax, fabsf(bf16_to_f32(src[i])));
    amax = warp_max(amax);
    float inv = amax > 0.0f ? 448.0f / amax : 0.0f;
    unsigned char* dst = xq + (size_t)row * k + (size_t)grp * group;
    for (int i = lane; i < group; i += 32) dst[i] = (unsigned char)f32_to_fp8e4m3(bf16_to_f32(src[i]) * inv);
    if (lane == 0) scales[(size_t)row * groups + grp] = amax > 0.0f ? amax / 448.0f : 1.0f;
}
