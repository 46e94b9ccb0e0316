namespace Hearth.Backends.Cuda;

/// <summary>
/// Host-side choices for gemm_quant.cu: which batches take the tensor-core GEMM, each kernel's shared memory (it
/// mirrors GqStage there), and how many ways k is split so that a launch fills the GPU in few waves.
/// </summary>
internal static class QuantGemmPlanner
{
    /// <summary>Warps per block (GQ_WARPS) and 16-row tiles per warp (GQ_TPW): a block owns 128 weight rows.</summary>
    public const int Warps = 4, TilesPerWarp = 2, RowsPerBlock = Warps * TilesPerWarp * CudaQuantTiles.TileRows;

    /// <summary>k per pipeline stage (GQ_BK) and stages in flight (GQ_STAGES).</summary>
    public const int StageK = 64, Stages = 4;

    /// <summary>Param slots a stage holds per tile (GQ_MAX_GROUPS): groups of 16 are the smallest.</summary>
    public const int MaxGroupsPerStage = 4;

    /// <summary>Most splits of k, and the F32 partial sums they may write (the workspace holds this many).</summary>
    public const int MaxSplits = 16;
    public const long PartialFloats = 8L << 20;

    /// <summary>Output tiles (row block × column chunk) whose split counters the workspace holds.</summary>
    public const int MaxCounters = 1 << 16;

    /// <summary>Kernel flavours: g4, g8, f8 (bf16 activations, W8A16), W8A8 (e4m3 activations), g6 (compact Q6_K) and k4 (compact Q4_K).</summary>
    public enum Kind { G4 = 0, G8 = 1, F8 = 2, W8A8 = 3, G6 = 4, K4 = 5 }

    /// <summary>Batch columns per block: 32 for up to 32 rows, else 64 (larger batches in chunks of 64).</summary>
    public static int ColumnsPerBlock(Kind kind, int rows) => kind != Kind.W8A8 && rows <= 32 ? 32 : 64;

    /// <summary>Dynamic shared memory of one block: GQ_STAGES × (x rows + weight tiles + params), as GqStage computes it.</summary>
    public static int SharedBytes(Kind kind, int columns)
    {
        int tilesPerBlock = Warps * TilesPerWarp;
        int x = columns * (kind == Kind.W8A8 ? 80 : 160);
        int w = tilesPerBlock * (kind == Kind.G6 ? CudaQuantG6.UnitBytes : (kind is Kind.G4 or Kind.K4 ? 1 : 2) * 512);
        int p = kind switch
        {
            Kind.G6 => tilesPerBlock * CudaQuantG6.ParamBytes,
            Kind.K4 => tilesPerBlock * CudaQuantK4.ParamBytes,
            Kind.G4 or Kind.G8 => tilesPerBlock * MaxGroupsPerStage * 64,
            _ => (tilesPerBlock + columns) * 4,
        };
        return (x + w + p) * Stages;
    }

    /// <summary>
    /// Why a part cannot run this kernel, or null: k in whole stages, groups of a power of two (so a stage holds
    /// whole groups or a group whole stages), and for FP8 (whose scale is read once a stage, and W8A8, which folds at group ends) groups of
    /// whole stages and, for W8A8, k in whole groups.
    /// </summary>
    public static string? Unsupported(Kind kind, int inFeatures, int groupSize)
    {
        if (inFeatures % StageK != 0) return $"k = {inFeatures} is not a multiple of {StageK}";
        if (kind == Kind.G6 && inFeatures % CudaQuantG6.SuperBlock != 0) return $"k = {inFeatures} is not a multiple of the Q6_K super-block {CudaQuantG6.SuperBlock}";
        if (kind == Kind.K4 && inFeatures % CudaQuantK4.SuperBlock != 0) return $"k = {inFeatures} is not a multiple of the Q4_K super-block {CudaQuantK4.SuperBlock}";
        // Powers of two (16..): the kernel finds groups with shifts and masks.
        if (groupSize < CudaQuantTiles.KTile || (groupSize & (groupSize - 1)) != 0) return $"group {groupSize} is not a power of two of at least {CudaQuantTiles.KTile}";
        if ((kind is Kind.F8 or Kind.W8A8) && groupSize % StageK != 0) return $"FP8 block of {groupSize} columns is not a multiple of {StageK}";
        if (kind == Kind.W8A8 && inFeatures % groupSize != 0) return $"k = {inFeatures} is not a multiple of the FP8 block {groupSize}";
        return null;
    }

    /// <summary>Row blocks of one launch: each part's 16-row tiles in blocks of <see cref="RowsPerBlock"/> rows.</summary>
    public static int RowBlocks(ReadOnlySpan<int> outFeatures)
    {
        int blocks = 0;
        foreach (int n in outFeatures) blocks += (CudaQuantTiles.PaddedRows(n) / CudaQuantTiles.TileRows + Warps * TilesPerWarp - 1) / (Warps * TilesPerWarp);
        return blocks;
    }

    /// <summary>
    /// Ways to split k: the fewest waves of <paramref name="blocksPerWave"/> blocks times the stages each block runs
    /// (plus about three stages of pipeline fill and fixup per block), at least two units of k a split, within the
    /// partial-sum workspace and the counters.
    /// </summary>
    /// <param name="tiles">Output tiles: row blocks × column chunks.</param>
    /// <param name="units">k in split units (stages; W8A8: groups).</param>
    /// <param name="stagesPerUnit">Stages in one unit.</param>
    /// <param name="partialFloatsPerSplit">rows × total output features of the launch.</param>
    public static int Splits(int tiles, int units, int stagesPerUnit, int blocksPerWave, long partialFloatsPerSplit)
    {
        if (blocksPerWave <= 0) throw new ArgumentOutOfRangeException(nameof(blocksPerWave));
        int best = 1;
        double bestCost = double.MaxValue;
        for (int s = 1; s <= MaxSplits && s * 2 <= units; s++)
        {
            if (s > 1 && (partialFloatsPerSplit * s > PartialFloats || tiles > MaxCounters)) break;
            long waves = ((long)tiles * s + blocksPerWave - 1) / blocksPerWave;
            double cost = waves * ((double)units / s * stagesPerUnit + 3.0);
            if (cost < bestCost - 1e-9)
            {
                bestCost = cost;
                best = s;
            }
        }
        return best;
    }
}
