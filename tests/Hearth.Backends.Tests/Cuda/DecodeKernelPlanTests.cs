using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>Which decode attention kernel a launch takes, and how the environment override reads.</summary>
public class DecodeKernelPlanTests
{
    [Theory]
    [InlineData(1, 128, false, 1, false, true)]     // the default: tensor cores from one sequence
    [InlineData(32, 64, false, 1, false, true)]
    [InlineData(3, 128, false, 4, false, false)]    // below a raised minimum: the CUDA-core kernel
    [InlineData(4, 128, false, 4, false, true)]
    [InlineData(32, 256, false, 1, false, false)]   // no tensor-core kernel at head dims 32 and 256
    [InlineData(32, 32, false, 1, false, false)]
    [InlineData(32, 128, true, 1, false, false)]    // fp8 caches stay on the CUDA-core kernel unless enabled
    [InlineData(32, 128, true, 1, true, true)]
    [InlineData(1, 128, false, 0, false, true)]     // a minimum below one still means one
    public void Picks_tensor_cores_by_shape_and_settings(int numSeqs, int headDim, bool fp8, int minSeqs, bool fp8Enabled, bool expected)
    {
        Assert.Equal(expected, DecodeKernelPlan.UseTensorCores(numSeqs, headDim, fp8, minSeqs, fp8Enabled));
    }

    [Theory]
    [InlineData(null, DecodeKernelPlan.DefaultMinSeqs)]
    [InlineData("", DecodeKernelPlan.DefaultMinSeqs)]
    [InlineData("eight", DecodeKernelPlan.DefaultMinSeqs)]
    [InlineData("8", 8)]
    [InlineData("0", int.MaxValue)]
    [InlineData("-3", int.MaxValue)]
    public void Reads_the_minimum_batch_from_the_environment_value(string? value, int expected)
    {
        Assert.Equal(expected, DecodeKernelPlan.ParseMinSeqs(value));
    }

    [Fact]
    public void Turned_off_by_the_environment_means_no_batch_qualifies()
    {
        int off = DecodeKernelPlan.ParseMinSeqs("0");
        Assert.False(DecodeKernelPlan.UseTensorCores(int.MaxValue - 1, 128, false, off, true));
    }
}
