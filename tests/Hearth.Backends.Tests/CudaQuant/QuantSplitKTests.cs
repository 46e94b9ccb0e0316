using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which quantized decode GEMV launches split k (CudaQuantSplitK, session 8's H100 measurements): Qwen3-14B's launches
/// (320-2,176 tiles on 132 SMs) never do; launches of fewer tiles than SMs do, as many ways as k allows; the fused
/// parts of one launch split alike whether they run together or apart; HEARTH_CUDA_QUANT_SPLITK forces or disables it.
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
    [InlineData(128, 2048, 2)]   // a 1.7B o: 8 units of 256, 4 warps
    [InlineData(64, 4096, 4)]    // 16 units: every warp of 4 splits keeps one unit
    [InlineData(100, 17408, 4)]  // capped at MaxSplits
    [InlineData(8, 512, 1)]      // 2 units: fewer than a warp each
    public void Short_launches_split_as_far_as_k_allows(long tiles, int k, int expected)
    {
        Assert.Equal(expected, CudaQuantSplitK.SplitsFor(tiles, k, StreamWarps, H100));
    }

    [Fact]
    public void A_short_launchs_split_depends_on_k_alone()
    {
        // A GGUF q|k|v mix (8 tiles) and its per-family launches (6 and 2 tiles) must sum each tile alike.
        int mixed = CudaQuantSplitK.SplitsFor(8, 5120, StreamWarps, H100);
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
