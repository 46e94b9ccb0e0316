using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>The fused decode attention's split plan: graph-safe, within the kernel's limits, covering every key once.</summary>
public class DecodeSplitPlanTests
{
    private const int H100Sms = 132, A100Sms = 108;

    [Theory]
    [InlineData(1, 8, 2560, 64)]     // Qwen3-14B, batch 1, a 40,960-token table: 8 kv heads x 64 splits
    [InlineData(8, 8, 2560, 8)]      // batch 8: 528 blocks / 64 (sequence, kv head) pairs
    [InlineData(64, 8, 2560, 1)]     // the batch alone fills the GPU: no partials
    [InlineData(1, 8, 4, 2)]         // a 64-token table has only two 32-key ranges
    public void Splits_follow_the_batch_shape_and_table_width(int numSeqs, int kvHeads, int tableBlocks, int expected)
    {
        Assert.Equal(expected, DecodeSplitPlan.Splits(numSeqs, kvHeads, tableBlocks, 16, H100Sms));
    }

    [Fact]
    public void Split_launches_stay_within_the_partial_workspace_and_the_kernel_limit()
    {
        foreach (int sms in new[] { 1, A100Sms, H100Sms })
            foreach (int numSeqs in new[] { 1, 2, 3, 4, 8, 16, 32, 64, 256 })
                foreach (int kvHeads in new[] { 1, 2, 4, 8, 32 })
                    foreach (int tableBlocks in new[] { 1, 2, 33, 256, 2048 })
                    {
                        int splits = DecodeSplitPlan.Splits(numSeqs, kvHeads, tableBlocks, 16, sms);
                        Assert.InRange(splits, 1, DecodeSplitPlan.MaxSplits);
                        if (splits > 1) Assert.True((long)numSeqs * kvHeads * splits <= DecodeSplitPlan.MaxSplitBlocks(sms));
                    }
    }

    [Fact]
    public void Active_splits_cover_every_key_exactly_once_at_any_context()
    {
        foreach (int splits in new[] { 1, 3, 8, 64 })
            for (int seqLen = 1; seqLen <= 40_000; seqLen += seqLen < 300 ? 1 : 997)
            {
                int perSplit = DecodeSplitPlan.KeysPerSplit(seqLen, splits);
                int active = DecodeSplitPlan.ActiveSplits(seqLen, splits);
                Assert.InRange(active, 1, splits);
                Assert.True((long)(active - 1) * perSplit < seqLen && (long)active * perSplit >= seqLen, $"splits {splits}, seqLen {seqLen}");
                Assert.True(perSplit >= DecodeSplitPlan.MinKeysPerSplit);
            }
        Assert.Equal(0, DecodeSplitPlan.ActiveSplits(0, 8));
    }

    [Fact]
    public void Short_contexts_use_few_splits_and_long_ones_all()
    {
        // Batch 1 on the 14B shape: 512 tokens in 16 ranges of 32 keys, 32K tokens in all 64 ranges of 512.
        Assert.Equal(16, DecodeSplitPlan.ActiveSplits(512, 64));
        Assert.Equal(64, DecodeSplitPlan.ActiveSplits(32768, 64));
        Assert.Equal(512, DecodeSplitPlan.KeysPerSplit(32768, 64));
    }

    [Theory]
    [InlineData(32, 4, 2)]     // Qwen3-14B, batch 32: 528 blocks / 256 (sequence, kv head) pairs
    [InlineData(32, 8, 4)]     // 8 blocks per SM: 1,056 / 256
    [InlineData(64, 8, 2)]
    [InlineData(64, 1, 1)]     // the batch alone fills the GPU: one split, no partials
    [InlineData(1, 16, 64)]    // capped at the kernel's 64 splits
    public void BlocksPerMultiprocessorScalesTheSplitCount(int numSeqs, int blocksPerSm, int expected)
    {
        Assert.Equal(expected, DecodeSplitPlan.Splits(numSeqs, 8, 2560, 16, H100Sms, blocksPerSm));
        if (expected > 1) Assert.True(numSeqs * 8L * expected <= DecodeSplitPlan.MaxSplitBlocks(H100Sms, blocksPerSm));
    }

    [Theory]
    [InlineData(null, 32)]
    [InlineData("64", 64)]
    [InlineData("1024", 1024)]
    [InlineData("16", 16)]
    [InlineData("48", 48)]
    [InlineData("8", 32)]       // below a warp's 16-key round
    [InlineData("40", 32)]      // not whole rounds
    [InlineData("2048", 32)]
    [InlineData("lots", 32)]
    public void The_minimum_keys_a_split_setting_takes_whole_16_key_rounds_or_the_default(string? value, int expected) =>
        Assert.Equal(expected, DecodeSplitPlan.ParseMinKeys(value));
}
