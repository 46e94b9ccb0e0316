using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

public class L2PrefetchPlanTests
{
    [Fact]
    public void A_weight_under_the_cap_is_fetched_whole() =>
        Assert.Equal(8192u, L2PrefetchPlan.FetchBytesPerWindow(13_500_000, 25L << 20, 8192));

    [Fact]
    public void A_larger_weight_gets_the_caps_share_of_every_window_on_16_byte_steps()
    {
        // 52 MB of bf16 o-projection against a 25 MiB cap: about half of each window.
        uint fetch = L2PrefetchPlan.FetchBytesPerWindow(52_428_800, 25L << 20, 8192);
        Assert.Equal(0u, fetch % 16);
        Assert.InRange(fetch, 4096u - 16u, 4096u);
        // The fetched bytes over all windows never exceed the cap.
        long windows = (52_428_800 + 8191) / 8192;
        Assert.True(windows * fetch <= 25L << 20);
    }

    [Theory]
    [InlineData(0L, 1L << 20)]
    [InlineData(1L << 20, 0L)]
    public void Nothing_to_fetch_or_no_room_fetches_nothing(long total, long cap) =>
        Assert.Equal(0u, L2PrefetchPlan.FetchBytesPerWindow(total, cap, 8192));

    [Fact]
    public void A_tiny_share_rounds_down_to_nothing() =>
        Assert.Equal(0u, L2PrefetchPlan.FetchBytesPerWindow(1L << 40, 1L << 20, 8192));

    [Fact]
    public unsafe void Windows_are_counted_per_range_rounding_up()
    {
        L2PrefetchRanges ranges = default;
        ranges.Count = 2;
        ranges.Bytes[0] = 8192 * 3;
        ranges.Bytes[1] = 8192 + 16;
        Assert.Equal(5, L2PrefetchPlan.Windows(ranges, 8192));
    }

    [Fact]
    public void The_kernel_struct_matches_the_C_layout() =>
        Assert.Equal(144, System.Runtime.InteropServices.Marshal.SizeOf<L2PrefetchRanges>());
}
