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
    [InlineData(1, 49, 8, 48)]    // 14B batch 1, engine table, three blocks an SM: 49 splits, six clusters of 8
    [InlineData(3, 16, 8, 16)]    // batch 3: two clusters a (sequence, kv head)
    [InlineData(6, 8, 8, 8)]      // batch 6: one
    [InlineData(8, 6, 1, 6)]      // batch 8: fewer splits than a cluster: the early loads without one
    [InlineData(32, 1, 1, 1)]
    public void Cluster_size_needs_a_whole_cluster_of_splits(int numSeqs, int expectedSplits, int expectedCluster, int expectedGrid)
    {
        int splits = DecodeSplitPlan.Splits(numSeqs, 8, 2560, 16, H100Sms, blocksPerMultiprocessor: 3);
        int cluster = DecodeClusterPlan.ClusterSize(DecodeClusterPlan.DefaultClusterSize, splits, deviceHasClusters: true);
        Assert.Equal(expectedSplits, splits);
        Assert.Equal(expectedCluster, cluster);
        Assert.Equal(expectedGrid, DecodeClusterPlan.Splits(splits, cluster));
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
        Assert.True(DecodeClusterPlan.UseKernel(1));
        Assert.True(DecodeClusterPlan.UseKernel(8));
        Assert.False(DecodeClusterPlan.UseKernel(0));
    }

    [Theory]
    [InlineData(1, false)]       // one split: the block writes the output
    [InlineData(64, false)]
    [InlineData(65, true)]
    [InlineData(512, true)]      // eight 64-key splits: one cluster
    [InlineData(640, true)]      // eight of 80 (the engine bench's 512..640)
    [InlineData(1024, true)]     // eight of 128
    [InlineData(1025, false)]    // 17 of 64 over the grid: the global combine
    [InlineData(4096, false)]
    public void The_cluster_combine_covers_contexts_up_to_a_cluster_of_the_largest_splits(int seqLen, bool expected) =>
        Assert.Equal(expected, DecodeClusterPlan.CombinesInCluster(seqLen, 48, 8));

    [Fact]
    public void Without_a_cluster_keys_spread_over_every_split()
    {
        Assert.Equal(64, DecodeClusterPlan.KeysPerSplit(640, 48, clusterSize: 1));
        Assert.Equal(80, DecodeClusterPlan.KeysPerSplit(640, 48, clusterSize: 8));
        Assert.Equal(86, DecodeClusterPlan.KeysPerSplit(4096, 48, clusterSize: 8));
        Assert.Equal(0, DecodeClusterPlan.ActiveSplits(0, 48, 8));
    }

    [Fact]
    public void Active_splits_cover_every_key_once_and_fit_the_grid()
    {
        foreach (int splits in new[] { 8, 16, 48, 64 })
            foreach (int cluster in new[] { 1, 8 })
                for (int seqLen = 1; seqLen <= 40_000; seqLen += seqLen < 1100 ? 1 : 997)
                {
                    int active = DecodeClusterPlan.ActiveSplits(seqLen, splits, cluster);
                    int perSplit = DecodeClusterPlan.KeysPerSplit(seqLen, splits, cluster);
                    Assert.InRange(active, 1, splits);
                    Assert.True((long)active * perSplit >= seqLen && (long)(active - 1) * perSplit < seqLen);
                }
    }

    [Theory]
    [InlineData(48, 8, 8, 48, 48)]     // batch 1, 48 co-resident clusters: one wave as planned
    [InlineData(48, 8, 8, 40, 40)]     // 40 clusters fit: five a kv head
    [InlineData(48, 8, 8, 13, 8)]      // fewer clusters than pairs: still one whole cluster
    [InlineData(48, 8, 16, 60, 24)]    // batch 2: 60 / 16 pairs = 3 clusters each
    [InlineData(48, 8, 8, 0, 48)]      // unknown count: no cap
    [InlineData(48, 1, 8, 10, 48)]     // no clusters: no cap
    public void One_wave_splits_fit_the_resident_clusters(int splits, int clusterSize, long pairs, int maxActiveClusters, int expected)
    {
        int capped = DecodeClusterPlan.OneWaveSplits(splits, clusterSize, pairs, maxActiveClusters);
        Assert.Equal(expected, capped);
        if (clusterSize > 1) Assert.Equal(0, capped % clusterSize);
    }
}
