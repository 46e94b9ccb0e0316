namespace Hearth.Backends.Cuda;

/// <summary>
/// The batch-1..8 decode attention launch of session 10 (decode_mma.cu's <c>_cl</c> kernels): the first round's K/V
/// loads before the PDL wait, and on sm_90+ the splits of one (sequence, kv head) launched as one thread-block
/// cluster that combines its partials in distributed shared memory. A launch's cluster size and split count depend
/// only on shapes and the setting, never on context lengths, so a captured graph stays valid as contexts grow; the
/// kernel spreads contexts of up to <see cref="MaxClusterKeysPerSplit"/> × cluster size keys over the first cluster
/// alone and combines them there, and takes the global combine beyond.
/// </summary>
public static class DecodeClusterPlan
{
    /// <summary>Eight blocks: the largest portable cluster, and at 512 keys eight 64-key splits fill it.</summary>
    public const int DefaultClusterSize = 8;

    /// <summary>The largest cluster the kernel's combine holds a register per rank for (DF_CLUSTER_MAX).</summary>
    public const int MaxClusterSize = 8;

    /// <summary>
    /// 16 keys a warp, so every one of a block's four warps has a round at 64 keys a split (32 left two idle), and
    /// 512 keys need eight splits: one cluster.
    /// </summary>
    public const int MinKeysPerSplit = 64;

    /// <summary>Batches of up to eight sequences take the new kernel (at 8 kv heads and 132 SMs, larger ones have fewer splits than a cluster).</summary>
    public const int DefaultMaxSeqs = 8;

    /// <summary>The batch limit from HEARTH_CUDA_DECODE_CLUSTER_MAX_SEQS: a positive number, else <see cref="DefaultMaxSeqs"/>.</summary>
    public static int ParseMaxSeqs(string? value) => int.TryParse(value, out int seqs) && seqs > 0 ? seqs : DefaultMaxSeqs;

    /// <summary>
    /// The setting from HEARTH_CUDA_DECODE_CLUSTER: unset or unparsable gives <see cref="DefaultClusterSize"/>; 0 runs
    /// the session-5 kernels (no early loads, no cluster); 1 the new kernel without clusters; 2, 4 or 8 a cluster size.
    /// </summary>
    public static int ParseSetting(string? value)
    {
        if (!int.TryParse(value, out int size)) return DefaultClusterSize;
        return size is 0 or 1 or 2 or 4 or 8 ? size : DefaultClusterSize;
    }

    /// <summary>
    /// The cluster size a launch of <paramref name="splits"/> splits per (sequence, kv head) takes: the setting when
    /// the device has clusters (sm_90+) and the plan has at least a whole cluster of splits, else 1 (no cluster).
    /// </summary>
    public static int ClusterSize(int setting, int splits, bool deviceHasClusters) =>
        deviceHasClusters && setting >= 2 && setting <= MaxClusterSize && splits >= setting ? setting : 1;

    /// <summary>
    /// True when a launch (of a batch within the limit) takes the <c>_cl</c> kernel: every setting but 0, in clusters
    /// where <see cref="ClusterSize"/> allows, else plainly with the early loads (H100, batch 8 × 512, whose
    /// one-wave plan has 6 splits: 13.3 against the session-5 kernel's 15.6 µs a layer).
    /// </summary>
    public static bool UseKernel(int setting) => setting != 0;

    /// <summary>
    /// Splits per (sequence, kv head) capped so that the launch's clusters are resident at once:
    /// <paramref name="maxActiveClusters"/> (the driver's count for the kernel in clusters of
    /// <paramref name="clusterSize"/>; 0 when unknown, no cap) over <paramref name="pairs"/> (sequence, kv head) pairs, in
    /// whole clusters and at least one. A second wave of clusters doubles a long context's time (H100, 14B, 1 × 32,768:
    /// 79 µs a layer at 48 splits in clusters of 8, against 57 without clusters).
    /// </summary>
    public static int OneWaveSplits(int splits, int clusterSize, long pairs, int maxActiveClusters)
    {
        if (clusterSize <= 1 || maxActiveClusters <= 0) return splits;
        long fit = maxActiveClusters / Math.Max(1L, pairs) * clusterSize;
        return (int)Math.Max(clusterSize, Math.Min(splits, fit));
    }

    /// <summary>Splits rounded down to whole clusters (a cluster launch's grid is a multiple of the cluster).</summary>
    public static int Splits(int splits, int clusterSize) =>
        clusterSize <= 1 ? splits : Math.Max(clusterSize, splits / clusterSize * clusterSize);

    /// <summary>
    /// The most keys a clustered block takes while a sequence's keys stay in its first cluster (HEARTH_DECODE_CLUSTER_KEYS
    /// in decode_mma.cu): two rounds a warp, so up to 1,024 keys combine in shared memory at clusters of eight.
    /// </summary>
    public const int MaxClusterKeysPerSplit = 128;

    /// <summary>Keys per split for a sequence of <paramref name="seqLen"/> tokens, as the kernel computes them.</summary>
    public static int KeysPerSplit(int seqLen, int splits, int clusterSize, int minKeysPerSplit = MinKeysPerSplit)
    {
        int keys = Math.Max(0, seqLen);
        if (clusterSize > 1 && keys <= clusterSize * MaxClusterKeysPerSplit)
            return Math.Max(minKeysPerSplit, (keys + clusterSize - 1) / clusterSize);
        return Math.Max(minKeysPerSplit, (keys + splits - 1) / splits);
    }

    /// <summary>Splits with keys for a sequence of <paramref name="seqLen"/> tokens, as the kernel computes them.</summary>
    public static int ActiveSplits(int seqLen, int splits, int clusterSize, int minKeysPerSplit = MinKeysPerSplit)
    {
        if (seqLen <= 0) return 0;
        int perSplit = KeysPerSplit(seqLen, splits, clusterSize, minKeysPerSplit);
        return (seqLen + perSplit - 1) / perSplit;
    }

    /// <summary>True when the kernel combines a sequence's splits in its cluster rather than through global partials.</summary>
    public static bool CombinesInCluster(int seqLen, int splits, int clusterSize)
    {
        int active = ActiveSplits(seqLen, splits, clusterSize);
        return clusterSize > 1 && active > 1 && active <= clusterSize;
    }
}
