using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which shapes the streaming decode GEMV (gemv_*_stream) takes: a ring stage holds 4 loads per lane (16 k-tiles of
/// G4, 8 of G8/F8) and the params of at most 8 groups, and the kernel finds a stage's group with a shift. A shape it
/// cannot take must go to the 16-column kernel instead of being computed with the wrong groups.
/// </summary>
public class QuantStreamFitTests
{
    [Theory]
    [InlineData(0, 5120, 128, true)]    // AWQ/GPTQ g128: 2 groups fill a stage
    [InlineData(0, 5120, 256, true)]    // a group holds whole stages
    [InlineData(0, 17408, 128, true)]
    [InlineData(0, 5120, 32, true)]     // Q4_0/Q4_K: 8 groups fill a stage
    [InlineData(0, 5120, 64, true)]
    [InlineData(1, 5120, 16, true)]     // Q6_K: 8 groups of one k-tile
    [InlineData(1, 17408, 32, true)]    // Q8_0, Q5_K
    [InlineData(2, 5120, 128, true)]    // FP8 128x128 blocks
    [InlineData(0, 5120, 16, false)]    // 16 groups a stage: more params than a stage copies
    [InlineData(0, 5120, 5120, false)]  // per-channel: 320 k-tiles a group, not a power of two
    [InlineData(0, 5120, 48, false)]
    [InlineData(0, 5184, 32, false)]    // 81 loads: not whole stages of 4
    [InlineData(1, 5184, 32, false)]
    public void StreamingKernelTakesOnlyShapesItsStagesCover(int familyIndex, int k, int group, bool expected) =>
        Assert.Equal(expected, CudaBackend.StreamFits((CudaQuantFamily)familyIndex, k, group));
}
