using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which int4 decode GEMV launches take gemv_quant_i4.cu (CudaQuantI4, session 9's H100 measurements): the 14B o and
/// down (320 tiles, one wave at 3 blocks an SM) do; q|k|v (448 tiles) and gate|up (2,176) do not, nor GGUF's and
/// GPTQ-g64's groups, other families, 9+ rows or a k that does not split into whole stages for 4 warps.
/// </summary>
public class QuantI4Tests
{
    private const int H100 = 132;

    [Theory]
    [InlineData(320, 5120, true)]     // o
    [InlineData(320, 17408, true)]    // down
    [InlineData(448, 5120, false)]    // q|k|v: 448 blocks are two waves at 396 slots
    [InlineData(2176, 5120, false)]   // gate|up
    [InlineData(396, 5120, true)]     // exactly one wave
    [InlineData(397, 5120, false)]
    public void The_14B_launches_that_fit_one_wave_take_it(long tiles, int k, bool expected)
    {
        Assert.Equal(expected, CudaQuantI4.Takes(CudaQuantFamily.G4, k, 128, tiles, 1, H100));
    }

    [Theory]
    [InlineData(128, true)]    // AWQ / GPTQ g128: two groups a stage
    [InlineData(256, true)]    // a group of one whole stage
    [InlineData(1024, true)]   // groups of whole stages
    [InlineData(32, false)]    // GGUF Q4_K / Q4_0
    [InlineData(64, false)]    // GPTQ g64: four groups a stage, which the kernel does not fold
    [InlineData(96, false)]    // not a power of two of k-tiles
    [InlineData(0, false)]
    public void Only_groups_the_fold_takes(int group, bool expected)
    {
        Assert.Equal(expected, CudaQuantI4.Takes(CudaQuantFamily.G4, 5120, group, 320, 1, H100));
    }

    [Fact]
    public void Other_families_stay_on_their_kernels()
    {
        foreach (var family in new[] { CudaQuantFamily.G8, CudaQuantFamily.F8, CudaQuantFamily.G6 })
            Assert.False(CudaQuantI4.Takes(family, 5120, 128, 320, 1, H100), family.ToString());
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(8, true)]
    [InlineData(0, false)]
    [InlineData(9, false)]
    public void Decode_batches_of_1_to_8_rows(int rows, bool expected)
    {
        Assert.Equal(expected, CudaQuantI4.Takes(CudaQuantFamily.G4, 5120, 128, 320, rows, H100));
    }

    [Theory]
    [InlineData(1024, true)]
    [InlineData(2048, true)]
    [InlineData(512, false)]    // two stages: not one for each of 4 warps
    [InlineData(1536, false)]   // six stages over 4 warps
    [InlineData(5376, false)]
    public void Every_warp_gets_the_same_whole_stages(int k, bool expected)
    {
        Assert.Equal(expected, CudaQuantI4.Takes(CudaQuantFamily.G4, k, 128, 64, 1, H100));
    }

    [Fact]
    public void The_wave_follows_the_device()
    {
        Assert.True(CudaQuantI4.Takes(CudaQuantFamily.G4, 5120, 128, 320, 1, 108));    // an A100: 324 slots
        Assert.False(CudaQuantI4.Takes(CudaQuantFamily.G4, 5120, 128, 320, 1, 100));   // 300 slots
        Assert.False(CudaQuantI4.Takes(CudaQuantFamily.G4, 5120, 128, 320, 1, 0));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("", true)]
    [InlineData("0", false)]
    public void The_switch_turns_it_off_only_at_0(string? value, bool expected)
    {
        Assert.Equal(expected, CudaQuantI4.ParseSetting(value));
    }

    [Fact]
    public void The_kernel_source_defines_the_kernel_with_the_rules_warps_and_occupancy()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels.gemv_quant_i4.cu")
            ?? throw new InvalidOperationException("gemv_quant_i4.cu is not embedded");
        string source = new StreamReader(stream).ReadToEnd();
        var instance = Regex.Match(source, $@"^I4_KERNEL\({CudaQuantI4.KernelName}, (\d+), (\d+), (\d+), (\d+)\)", RegexOptions.Multiline);
        Assert.True(instance.Success, $"{CudaQuantI4.KernelName} is not instanced in gemv_quant_i4.cu");
        Assert.Equal(CudaQuantI4.Warps, int.Parse(instance.Groups[1].Value));
        Assert.Equal(CudaQuantI4.StageTiles, 4 * int.Parse(instance.Groups[2].Value));
        Assert.Equal(CudaQuantI4.BlocksPerMultiprocessor, int.Parse(instance.Groups[4].Value));
    }
}
