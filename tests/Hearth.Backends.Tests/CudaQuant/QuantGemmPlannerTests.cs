using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>The host-side choices of the quantized GEMM: which shapes it takes, its shared memory, and how k is split.</summary>
public sealed class QuantGemmPlannerTests
{
    [Fact]
    public void SplitsFillTheGpuWhenThereAreFewRowBlocks()
    {
        // Qwen3-14B o_proj at 32 rows on 132 SMs, 3 blocks each: 40 row blocks, 80 stages of k.
        int splits = QuantGemmPlanner.Splits(tiles: 40, units: 80, stagesPerUnit: 1, blocksPerWave: 396, partialFloatsPerSplit: 32 * 5120);
        Assert.InRange(40 * splits, 264, 396);
    }

    [Fact]
    public void ManyRowBlocksAreNotSplit()
    {
        Assert.Equal(1, QuantGemmPlanner.Splits(tiles: 4000, units: 80, stagesPerUnit: 1, blocksPerWave: 264, partialFloatsPerSplit: 64 * 34816));
    }

    [Fact]
    public void SplitsKeepTwoUnitsEachAndFitTheWorkspace()
    {
        Assert.Equal(1, QuantGemmPlanner.Splits(tiles: 1, units: 3, stagesPerUnit: 1, blocksPerWave: 264, partialFloatsPerSplit: 100));
        Assert.Equal(2, QuantGemmPlanner.Splits(tiles: 1, units: 4, stagesPerUnit: 1, blocksPerWave: 264, partialFloatsPerSplit: 100));
        long perSplit = QuantGemmPlanner.PartialFloats / 3;
        Assert.InRange(QuantGemmPlanner.Splits(tiles: 2, units: 200, stagesPerUnit: 1, blocksPerWave: 264, partialFloatsPerSplit: perSplit), 1, 3);
        Assert.Equal(1, QuantGemmPlanner.Splits(tiles: 2, units: 200, stagesPerUnit: 1, blocksPerWave: 264, partialFloatsPerSplit: QuantGemmPlanner.PartialFloats));
    }

    [Theory]
    [InlineData(0, 5120, 128, true)]
    [InlineData(0, 5120, 32, true)]
    [InlineData(1, 17408, 16, true)]
    [InlineData(0, 5120, 48, false)]   // not a power of two
    [InlineData(0, 5120, 256, true)]
    [InlineData(1, 5120 + 32, 32, false)]   // k not whole stages
    [InlineData(2, 640, 128, true)]
    [InlineData(2, 640, 32, false)]   // one scale read per stage needs blocks of whole stages
    [InlineData(3, 640, 128, true)]
    [InlineData(3, 576, 128, false)]   // a partial last block: W8A8 folds at whole groups
    public void TakesOnlyShapesItsStagesCover(int kind, int inFeatures, int group, bool supported)
    {
        // kind: QuantGemmPlanner.Kind G4 0, G8 1, F8 2, W8A8 3.
        Assert.Equal(supported, QuantGemmPlanner.Unsupported((QuantGemmPlanner.Kind)kind, inFeatures, group) is null);
    }

    [Fact]
    public void SharedMemoryFitsAnSm80Block()
    {
        foreach (var kind in Enum.GetValues<QuantGemmPlanner.Kind>())
            foreach (int columns in new[] { 32, 64 })
            {
                int bytes = QuantGemmPlanner.SharedBytes(kind, columns);
                Assert.InRange(bytes, 1, 163 * 1024);   // sm_80's most dynamic shared memory per block
                Assert.Equal(0, bytes / QuantGemmPlanner.Stages % 16);   // stages stay 16-byte aligned for cp.async
            }
    }

    [Fact]
    public void RowBlocksCountEachPartSeparately()
    {
        // q|k|v of Qwen3-14B: 5120, 1024, 1024 rows in blocks of 128.
        Assert.Equal(40 + 8 + 8, QuantGemmPlanner.RowBlocks([5120, 1024, 1024]));
        Assert.Equal(2 + 1, QuantGemmPlanner.RowBlocks([200, 8]));
    }
}
