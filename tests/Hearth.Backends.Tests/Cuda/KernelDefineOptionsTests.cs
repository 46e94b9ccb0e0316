using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>HEARTH_CUDA_KERNEL_DEFINES turns into NVRTC -D options, so a GPU run can A/B a kernel switch without a rebuild.</summary>
public class KernelDefineOptionsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Unset_or_blank_adds_nothing(string? value) => Assert.Empty(KernelCompiler.DefineOptions(value));

    [Fact]
    public void Names_and_values_become_minus_d_options_in_order() =>
        Assert.Equal(["-DHEARTH_PDL_EARLY_TRIGGER=1", "-DQS_LOADS=8", "-DFLAG", "-DSCALE=-0.5"],
            KernelCompiler.DefineOptions(" HEARTH_PDL_EARLY_TRIGGER=1  QS_LOADS=8\tFLAG SCALE=-0.5 "));

    [Theory]
    [InlineData("1X=2")]
    [InlineData("A=")]
    [InlineData("A=\"quoted\"")]
    [InlineData("-DA=1")]
    [InlineData("A=1;rm")]
    public void Anything_but_a_name_and_a_plain_value_is_refused(string value) =>
        Assert.Throws<HearthException>(() => KernelCompiler.DefineOptions(value));
}
