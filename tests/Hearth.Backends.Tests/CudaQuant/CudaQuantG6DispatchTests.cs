using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which launches read the compact Q6_K layout: Q4_K_M's q|k|v (Q4_K, Q4_K, Q6_K) must share gemv_g4g6_stream, while
/// the G8 mixed kernel must never be handed a G6 part (it would read the wrong layout), and the GEMM's plan for G6.
/// </summary>
public class CudaQuantG6DispatchTests
{
    private static CudaQuantPart Q4K(int rows = 5120, int k = 5120) =>
        new(CudaQuantFamily.G4, WeightFormat.Q4_K, rows, k, 0x1000, 0x2000, 32, 0, 0, 0, 0);

    private static CudaQuantPart Q6K(int rows = 1024, int k = 5120) =>
        new(CudaQuantFamily.G6, WeightFormat.Q6_K, rows, k, 0x3000, 0x4000, 16, 0, 0, 0, 0);

    [Fact]
    public void Q4_K_M_qkv_with_a_compact_Q6_K_v_is_one_g4g6_launch_and_never_a_g4g8_one()
    {
        Assert.True(CudaBackend.MixedG6Fits([Q4K(), Q4K(1024), Q6K()]));
        Assert.True(CudaBackend.MixedG6Fits([Q6K(), Q4K()]));
        Assert.False(CudaBackend.MixedKQuantFits([Q4K(), Q4K(1024), Q6K()]));
    }

    [Fact]
    public void Other_mixes_are_refused()
    {
        Assert.False(CudaBackend.MixedG6Fits([Q6K(), Q6K()]));                                         // one family: the G6 launch
        Assert.False(CudaBackend.MixedG6Fits([Q4K(), Q4K()]));
        Assert.False(CudaBackend.MixedG6Fits([Q4K() with { GroupSize = 128 }, Q6K()]));                // the kernel's g4 is group 32
        Assert.False(CudaBackend.MixedG6Fits([Q4K(k: 512), Q6K(k: 768)]));                             // one k
        Assert.False(CudaBackend.MixedG6Fits([Q4K(k: 320), Q6K(k: 320)]));                             // whole super-blocks
        Assert.False(CudaBackend.MixedG6Fits([Q4K() with { Permutation = 0x5000 }, Q6K()]));
        Assert.False(CudaBackend.MixedG6Fits([Q4K() with { Family = CudaQuantFamily.G8, Format = WeightFormat.Q8_0 }, Q6K()]));
    }

    [Fact]
    public void The_gemm_plan_covers_G6_stages()
    {
        Assert.Null(QuantGemmPlanner.Unsupported(QuantGemmPlanner.Kind.G6, 5120, 16));
        Assert.NotNull(QuantGemmPlanner.Unsupported(QuantGemmPlanner.Kind.G6, 320, 16));
        // 4 stages of (x rows of 160 bytes + 8 tiles × 768 bytes + 8 tiles × 288 bytes of params).
        Assert.Equal(4 * (32 * 160 + 8 * 768 + 8 * 288), QuantGemmPlanner.SharedBytes(QuantGemmPlanner.Kind.G6, 32));
        Assert.Equal(CudaQuantFamily.G6, CudaQuantLayout.FamilyOf(WeightFormat.Q6_K));
        Assert.Equal(CudaQuantFamily.G8, CudaQuantLayout.FamilyOf(WeightFormat.Q6_K, compactQ6K: false));
    }
}
