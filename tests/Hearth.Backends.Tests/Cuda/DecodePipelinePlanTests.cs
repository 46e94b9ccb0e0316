using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// When the pipelined tensor-core decode kernel runs, how deep its ring is, what shared memory it asks for, and
/// the split plan it gets (Qwen3-14B's 8 kv heads on the H100's 132 SMs).
/// </summary>
public class DecodePipelinePlanTests
{
    private const int H100Multiprocessors = 132, KvHeads = 8;

    [Theory]
    [InlineData(1, false)]     // latency-bound: one round a warp, nothing to overlap
    [InlineData(8, false)]
    [InlineData(16, false)]    // 128 pairs: not more than one an SM
    [InlineData(17, true)]
    [InlineData(32, true)]     // the engine's batch-32 bucket
    [InlineData(49, true)]     // 392 pairs: still one wave at three an SM
    [InlineData(50, false)]    // 400 pairs: the unpipelined kernel fits one wave at four an SM, this one not
    [InlineData(64, false)]
    public void Runs_where_the_batch_fills_the_gpu_in_one_wave(int numSeqs, bool expected)
    {
        Assert.Equal(expected, DecodeKernelPlan.UsePipeline(numSeqs * KvHeads, H100Multiprocessors, occupancy: 3));
    }

    [Fact]
    public void One_block_an_sm_leaves_no_batch_for_the_pipeline()
    {
        // More pairs than SMs never fit one wave at one block an SM (an occupancy of 0 counts as 1).
        foreach (int occupancy in new[] { 0, 1 })
            foreach (int pairs in new[] { 1, H100Multiprocessors, H100Multiprocessors + 1, 2 * H100Multiprocessors })
                Assert.False(DecodeKernelPlan.UsePipeline(pairs, H100Multiprocessors, occupancy));
        Assert.True(DecodeKernelPlan.UsePipeline(H100Multiprocessors + 1, H100Multiprocessors, occupancy: 2));
    }

    [Theory]
    [InlineData(null, DecodeKernelPlan.DefaultPipelineStages)]
    [InlineData("", DecodeKernelPlan.DefaultPipelineStages)]
    [InlineData("deep", DecodeKernelPlan.DefaultPipelineStages)]
    [InlineData("2", 2)]
    [InlineData("3", 3)]
    [InlineData("0", 0)]
    [InlineData("4", 0)]   // not compiled: off rather than a missing kernel
    [InlineData("1", 0)]
    public void Reads_the_ring_depth_from_the_environment_value(string? value, int expected)
    {
        Assert.Equal(expected, DecodeKernelPlan.ParsePipelineStages(value));
    }

    [Theory]
    [InlineData(128, 2, 65536)]   // three blocks fit the H100's 228 KiB an SM
    [InlineData(128, 3, 98304)]   // two
    [InlineData(64, 2, 32768)]
    public void Shared_memory_is_the_warps_rings_of_key_and_value_tiles(int headDim, int stages, int expectedBytes)
    {
        Assert.Equal(expectedBytes, DecodeKernelPlan.PipelineSharedBytes(headDim, stages, warps: 4));
    }

    [Theory]
    [InlineData(0, 3, 3)]    // unset: the kernel's occupancy
    [InlineData(2, 3, 2)]    // a setting wins
    [InlineData(40, 3, 16)]  // clamped to what the partials are sized for
    [InlineData(0, 0, 1)]
    public void Blocks_per_sm_come_from_the_setting_or_the_occupancy(int setting, int occupancy, int expected)
    {
        Assert.Equal(expected, DecodeKernelPlan.PipelineBlocksPerMultiprocessor(setting, occupancy, maxBlocks: 16));
    }

    [Fact]
    public void Batch_32_at_512_is_one_split_a_pair_so_one_wave_of_256_blocks()
    {
        int perSm = DecodeKernelPlan.PipelineBlocksPerMultiprocessor(0, occupancy: 3, maxBlocks: 16);
        int splits = DecodeSplitPlan.Splits(32, KvHeads, maxBlocksPerSeq: 40, blockSize: 16, H100Multiprocessors, perSm);
        Assert.Equal(1, splits);
        Assert.True(32 * KvHeads * splits <= perSm * H100Multiprocessors);
    }
}
