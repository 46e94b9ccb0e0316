using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which fused parts share one gemv_g4g8_stream launch: Q4_K_M's q|k|v (Q4_K, Q4_K, Q6_K) must, and anything the
/// kernel cannot serve exactly (fp8, two group sizes in one family, act-order, a k the stream does not take, one family
/// alone, which the per-family launch already serves) must not, or the kernel would read a part with the wrong layout.
/// </summary>
public class MixedKQuantFitTests
{
    private static CudaQuantPart Q4K(int rows = 5120, int k = 5120) =>
        new(CudaQuantFamily.G4, WeightFormat.Q4_K, rows, k, 0x1000, 0x2000, 32, 0, 0, 0, 0);

    private static CudaQuantPart Q6K(int rows = 1024, int k = 5120) =>
        new(CudaQuantFamily.G8, WeightFormat.Q6_K, rows, k, 0x3000, 0x4000, 16, 0, 0, 0, 0);

    [Fact]
    public void Q4_K_M_qkv_with_a_Q6_K_v_is_one_launch()
    {
        Assert.True(CudaBackend.MixedKQuantFits([Q4K(), Q4K(1024), Q6K()]));
    }

    [Fact]
    public void Q8_0_and_Q5_K_parts_mix_with_Q4_K_too()
    {
        var q8 = Q6K() with { Format = WeightFormat.Q8_0, GroupSize = 32 };
        Assert.True(CudaBackend.MixedKQuantFits([Q4K(), q8]));
        Assert.True(CudaBackend.MixedKQuantFits([q8, Q4K(), q8 with { Format = WeightFormat.Q5_K }]));
    }

    [Fact]
    public void One_family_alone_keeps_the_per_family_launch()
    {
        Assert.False(CudaBackend.MixedKQuantFits([Q4K(), Q4K(1024), Q4K(1024)]));
        Assert.False(CudaBackend.MixedKQuantFits([Q6K(), Q6K()]));
        Assert.False(CudaBackend.MixedKQuantFits([Q4K()]));
    }

    [Theory]
    [InlineData("fp8")]
    [InlineData("two g8 group sizes")]
    [InlineData("two g4 group sizes")]
    [InlineData("permutation")]
    [InlineData("k")]
    [InlineData("stream shape")]
    public void Parts_the_kernel_cannot_serve_keep_separate_launches(string what)
    {
        CudaQuantPart[] parts = what switch
        {
            "fp8" => [Q4K(), Q6K() with { Family = CudaQuantFamily.F8, BlockRows = 128, ScaleColumns = 40 }],
            "two g8 group sizes" => [Q4K(), Q6K(), Q6K() with { GroupSize = 32 }],
            "two g4 group sizes" => [Q4K(), Q4K() with { GroupSize = 128 }, Q6K()],
            "permutation" => [Q4K() with { Permutation = 0x5000 }, Q6K()],
            "k" => [Q4K(), Q6K(k: 4096)],
            _ => [Q4K(k: 5248), Q6K(k: 5248)],   // 5248 is not a whole number of g4 stages (256 inputs)
        };
        Assert.False(CudaBackend.MixedKQuantFits(parts));
    }
}
