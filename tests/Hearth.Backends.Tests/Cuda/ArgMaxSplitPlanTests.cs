using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// The split greedy pick's grid: every entry of a row must fall in exactly one block's chunk, chunks must keep
/// 16-byte loads aligned, and rows × splits must fit the partials the backend allocated once.
/// </summary>
public sealed class ArgMaxSplitPlanTests
{
    [Theory]
    [InlineData(1, 151936, 132)]
    [InlineData(32, 151936, 132)]
    [InlineData(64, 151936, 132)]
    [InlineData(1, 1003, 132)]
    [InlineData(3, 7, 132)]
    [InlineData(4096, 151936, 132)]
    [InlineData(1, 151936, 84)]
    public void Chunks_cover_the_row_once_and_fit_the_workspace(int rows, int vocab, int sms)
    {
        var (splits, chunk) = CudaBackend.ArgMaxSplits(rows, vocab, sms);
        Assert.True(splits >= 1 && splits <= 64);
        Assert.Equal(0, chunk % 4);
        Assert.True((long)splits * chunk >= vocab, "the last entries belong to no block");
        Assert.True((long)(splits - 1) * chunk < vocab, "a block with nothing to read");
        Assert.True((long)rows * splits <= 4096);
    }

    [Fact]
    public void One_row_spreads_over_about_two_blocks_per_multiprocessor()
    {
        var (splits, _) = CudaBackend.ArgMaxSplits(1, 151936, 132);
        Assert.Equal(64, splits);   // capped: 264 wanted
        var (batchSplits, _) = CudaBackend.ArgMaxSplits(32, 151936, 132);
        Assert.Equal(9, batchSplits); // 32 × 9 = 288 blocks
    }
}
