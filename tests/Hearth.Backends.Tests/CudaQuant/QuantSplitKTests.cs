using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which quantized decode GEMV launches split k (CudaQuantSplitK, session 8's H100 measurements): Qwen3-14B's launches
/// (320-2,176 tiles on 132 SMs) never do; few-tile launches with a long k do, as far as brings the grid to about four
/// blocks an SM; a short k does not; HEARTH_CUDA_QUANT_SPLITK forces or disables it.
/// </summary>
public class QuantSplitKTests
{
    private const int H100 = 132, StreamWarps = 4;

    [Theory]
    [InlineData(448, 5120)]    // q|k|v
    [InlineData(320, 5120)]    // o
    [InlineData(2176, 5120)]   // gate|up
    [InlineData(320, 17408)]   // down
    public void The_14B_launches_stay_unsplit(long tiles, int k)
    {
        Assert.Equal(1, CudaQuantSplitK.SplitsFor(tiles, k, StreamWarps, H100));
    }

    [Theory]
    [InlineData(128, 6144, 3)]    // a 1.7B down: 24 units of k leave 2 a warp at 3 splits
    [InlineData(160, 9728, 3)]    // a 4B down: the grid's 4 blocks an SM
    [InlineData(256, 12288, 2)]   // an 8B down
    [InlineData(160, 4096, 2)]    // a 4B o
    [InlineData(128, 2048, 1)]    // a 1.7B o: k too short
    [InlineData(384, 4096, 1)]    // an 8B q|k|v: enough tiles
    [InlineData(16, 17408, 4)]    // capped at MaxSplits
    public void Few_tiles_and_a_long_k_split(long tiles, int k, int expected)
    {
        Assert.Equal(expected, CudaQuantSplitK.SplitsFor(tiles, k, StreamWarps, H100));
    }

    [Fact]
    public void More_warps_a_block_split_less()
    {
        Assert.Equal(3, CudaQuantSplitK.SplitsFor(160, 9728, 4, H100));
        Assert.Equal(2, CudaQuantSplitK.SplitsFor(160, 9728, 8, H100));
    }

    [Fact]
    public void Tiny_launches_split_by_k_alone()
    {
        // A GGUF q|k|v mix (8 tiles) and its per-family launches (6 and 2 tiles) sum each tile alike.
        int mixed = CudaQuantSplitK.SplitsFor(8, 5120, StreamWarps, H100);
        Assert.Equal(2, mixed);
        Assert.Equal(mixed, CudaQuantSplitK.SplitsFor(6, 5120, StreamWarps, H100));
        Assert.Equal(mixed, CudaQuantSplitK.SplitsFor(2, 5120, StreamWarps, H100));
    }

    [Fact]
    public void Launches_beyond_the_workspace_never_split()
    {
        Assert.Equal(1, CudaQuantSplitK.SplitsFor(CudaQuantSplitK.MaxTiles + 1, 17408, StreamWarps, 100_000));
        Assert.Equal(1, CudaQuantSplitK.SplitsFor(CudaQuantSplitK.MaxTiles + 1, 17408, StreamWarps, H100, forcedSplits: 4));
    }

    [Theory]
    [InlineData(2, 320, 5120, 2)]
    [InlineData(4, 320, 17408, 4)]
    [InlineData(4, 1024, 5120, 4)]
    [InlineData(4, 40, 512, 1)]   // 2 units of k: no warp would have work
    [InlineData(9, 40, 5120, 4)]  // clamped to MaxSplits
    [InlineData(1, 40, 5120, 1)]
    public void Forced_splits_apply_within_the_limits(int forced, long tiles, int k, int expected)
    {
        Assert.Equal(expected, CudaQuantSplitK.SplitsFor(tiles, k, StreamWarps, H100, forcedSplits: forced));
    }

    [Theory]
    [InlineData(null, true, null)]
    [InlineData("", true, null)]
    [InlineData("0", false, null)]
    [InlineData("1", true, 1)]
    [InlineData("3", true, 3)]
    [InlineData("yes", true, null)]
    public void The_environment_switch(string? value, bool enabled, int? forced)
    {
        Assert.Equal((enabled, forced), CudaQuantSplitK.ParseSetting(value));
    }

    [Fact]
    public void The_workspace_holds_every_split_tile()
    {
        Assert.Equal((long)CudaQuantSplitK.MaxTiles * CudaQuantSplitK.MaxSplits * 128 * 4, CudaQuantSplitK.PartialsBytes);
        Assert.Equal((long)CudaQuantSplitK.MaxTiles * 4, CudaQuantSplitK.CountersBytes);
    }
}
