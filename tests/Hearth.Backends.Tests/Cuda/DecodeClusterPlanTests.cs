using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>The session-10 cluster decode plan: graph-safe cluster sizes and grids, and where the cluster combine holds.</summary>
public class DecodeClusterPlanTests
{
    private const int H100Sms = 132;

    [Theory]
    [InlineData(null, 8)]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData("4", 4)]
    [InlineData("16", 8)]   // no register slot for a 16th rank: the default
    [InlineData("x", 8)]
    public void Setting_parses_the_environment_value(string? value, int expected) =>
        Assert.Equal(expected, DecodeClusterPlan.ParseSetting(value));

    [Theory]
    [InlineData(null, 8)]
    [InlineData("32", 32)]
    [InlineData("0", 8)]
    public void Batch_limit_parses_the_environment_value(string? value, int expected) =>
        Assert.Equal(expected, DecodeClusterPlan.ParseMaxSeqs(value));

    [Theory]
    [InlineData(1, 64, 8)]    // 14B batch 1, engine table: 64 splits, clusters of 8
    [InlineData(8, 8, 8)]     // batch 8: 8 splits, exactly one cluster
    [InlineData(3, 22, 8)]    // batch 3: 22 splits, rounded down to 16
    [InlineData(32, 2, 1)]    // batch 32: fewer splits than a cluster, no cluster (and the old kernel)
    public void Cluster_size_needs_a_whole_cluster_of_splits(int numSeqs, int expectedSplits, int expectedCluster)
    {
        int splits = DecodeSplitPlan.Splits(numSeqs, 8, 2560, 16, H100Sms);
        int cluster = DecodeClusterPlan.ClusterSize(DecodeClusterPlan.DefaultClusterSize, splits, deviceHasClusters: true);
        Assert.Equal(expectedSplits, splits);
        Assert.Equal(expectedCluster, cluster);
        Assert.Equal(expectedCluster > 1, DecodeClusterPlan.UseKernel(DecodeClusterPlan.DefaultClusterSize, cluster));
        Assert.Equal(1, DecodeClusterPlan.ClusterSize(DecodeClusterPlan.DefaultClusterSize, splits, deviceHasClusters: false));
    }

    [Fact]
    public void Cluster_grids_are_whole_clusters_within_the_plan()
    {
        foreach (int cluster in new[] { 1, 2, 4, 8 })
            for (int splits = 1; splits <= DecodeSplitPlan.MaxSplits; splits++)
            {
                int size = DecodeClusterPlan.ClusterSize(cluster, splits, deviceHasClusters: true);
                int grid = DecodeClusterPlan.Splits(splits, size);
                Assert.Equal(0, grid % size);
                Assert.InRange(grid, 1, splits);
            }
    }

    [Fact]
    public void The_setting_1_takes_the_new_kernel_without_clusters()
    {
        Assert.Equal(1, DecodeClusterPlan.ClusterSize(1, 64, deviceHasClusters: true));
        Assert.True(DecodeClusterPlan.UseKernel(1, 1));
        Assert.False(DecodeClusterPlan.UseKernel(0, 1));
    }

    [Theory]
    [InlineData(1, false)]       // one split: the block writes the output
    [InlineData(65, true)]
    [InlineData(512, true)]      // eight 64-key splits: one cluster
    [InlineData(513, false)]     // nine: the global combine
    [InlineData(4096, false)]
    public void The_cluster_combine_covers_contexts_up_to_a_cluster_of_minimum_splits(int seqLen, bool expected) =>
        Assert.Equal(expected, DecodeClusterPlan.CombinesInCluster(seqLen, 64, 8));

    [Fact]
    public void Active_splits_cover_every_key_once_and_fit_the_grid()
    {
        foreach (int splits in new[] { 8, 16, 64 })
            for (int seqLen = 1; seqLen <= 40_000; seqLen += seqLen < 600 ? 1 : 997)
            {
                int active = DecodeClusterPlan.ActiveSplits(seqLen, splits, DecodeClusterPlan.MinKeysPerSplit);
                int perSplit = Math.Max(DecodeClusterPlan.MinKeysPerSplit, (seqLen + splits - 1) / splits);
                Assert.InRange(active, 1, splits);
                Assert.True((long)active * perSplit >= seqLen && (long)(active - 1) * perSplit < seqLen);
            }
        Assert.Equal(0, DecodeClusterPlan.ActiveSplits(0, 64, DecodeClusterPlan.MinKeysPerSplit));
    }
}
