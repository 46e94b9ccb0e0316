using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which int4 decode GEMV launches take gemv_quant_i4.cu (CudaQuantI4, sessions 9 and 10's H100 measurements): session
/// 9's rule, the 14B o and down (320 tiles, one wave at 3 blocks an SM) and not q|k|v (448) or gate|up (2,176); session
/// 10's plan, which adds q|k|v on the 4-block kernel and gate|up pairs on the balanced grid; never GGUF's or GPTQ-g64's
/// groups, other families, 9+ rows or a k that does not split into whole stages for 4 warps.
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

    [Theory]
    [InlineData(320, 5120, (int)CudaQuantI4Kernel.ThreeStage, 320)]   // o
    [InlineData(320, 17408, (int)CudaQuantI4Kernel.ThreeStage, 320)]  // down
    [InlineData(448, 5120, (int)CudaQuantI4Kernel.TwoStage, 448)]     // q|k|v: one wave at 4 blocks an SM, two at 3
    [InlineData(396, 5120, (int)CudaQuantI4Kernel.ThreeStage, 396)]
    [InlineData(397, 5120, (int)CudaQuantI4Kernel.TwoStage, 397)]
    [InlineData(528, 5120, (int)CudaQuantI4Kernel.TwoStage, 528)]
    [InlineData(529, 5120, (int)CudaQuantI4Kernel.None, 0)]          // many waves, not gate|up: the stream kernel
    public void Session_10_plain_launches_take_the_kernel_whose_one_wave_they_fit(long tiles, int k, int kernel, int blocks)
    {
        var plan = CudaQuantI4.Plan(CudaQuantFamily.G4, k, 128, tiles, 1, gateUp: false, fusedSilu: false, session10: true, H100);
        Assert.Equal(new CudaQuantI4Launch((CudaQuantI4Kernel)kernel, blocks), plan);
    }

    [Theory]
    [InlineData(2176, true, 363)]    // 14B gate|up fused: 1,088 pairs in 3 rounds of 363 blocks (396 slots)
    [InlineData(2176, false, 363)]   // unfused: 2,176 tiles in 6 rounds of 363
    [InlineData(26, true, 13)]       // a small pair: a block a pair
    [InlineData(26, false, 26)]
    [InlineData(794, true, 397)]     // 397 pairs: 2 rounds of 199
    public void Session_10_gate_up_pairs_take_the_three_stage_kernel_on_the_balanced_grid(long tiles, bool fused, int blocks)
    {
        var plan = CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, tiles, 1, gateUp: true, fusedSilu: fused, session10: true, H100);
        Assert.Equal(CudaQuantI4Kernel.ThreeStage, plan.Kernel);
        Assert.Equal(fused && tiles == 794 ? 199 : blocks, plan.Blocks);
    }

    [Theory]
    [InlineData(10, 396, 10)]
    [InlineData(10, 3, 3)]
    [InlineData(396, 396, 396)]
    [InlineData(397, 396, 199)]
    [InlineData(1088, 396, 363)]
    [InlineData(2176, 396, 363)]
    [InlineData(2177, 396, 363)]
    [InlineData(2179, 396, 364)]
    public void The_balanced_grid_is_the_fewest_blocks_for_the_fewest_rounds(long units, long slots, int blocks)
    {
        int grid = CudaQuantI4.BalancedBlocks(units, slots);
        Assert.Equal(blocks, grid);
        long rounds = (units + slots - 1) / slots;
        Assert.True(grid <= slots && (long)grid * rounds >= units && (long)(grid - 1) * rounds < units);
    }

    [Fact]
    public void Session_9_takes_only_unfused_launches_of_one_wave_at_3_blocks()
    {
        Assert.Equal(new CudaQuantI4Launch(CudaQuantI4Kernel.Session9, 320),
            CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 320, 1, gateUp: false, fusedSilu: false, session10: false, H100));
        Assert.False(CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 448, 1, gateUp: false, fusedSilu: false, session10: false, H100).Taken);
        Assert.False(CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 26, 1, gateUp: true, fusedSilu: true, session10: false, H100).Taken);
        // An unfused small gate|up pair took session 9's kernel (its rule never looked at pairs); the fused one did not.
        Assert.True(CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 26, 1, gateUp: true, fusedSilu: false, session10: false, H100).Taken);
    }

    [Theory]
    [InlineData(64, 1, false)]      // GPTQ g64
    [InlineData(32, 1, false)]      // GGUF
    [InlineData(128, 9, false)]     // 9 rows
    [InlineData(128, 0, false)]
    [InlineData(128, 8, true)]
    public void Session_10_keeps_the_shape_rule(int group, int rows, bool taken)
    {
        Assert.Equal(taken, CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, group, 448, rows, gateUp: false, fusedSilu: false, session10: true, H100).Taken);
        Assert.Equal(taken, CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, group, 2176, rows, gateUp: true, fusedSilu: true, session10: true, H100).Taken);
        Assert.False(CudaQuantI4.Plan(CudaQuantFamily.G8, 5120, group, 448, rows, gateUp: false, fusedSilu: false, session10: true, H100).Taken);
    }

    [Fact]
    public void A_fused_launch_needs_a_pair_of_equal_parts()
    {
        Assert.False(CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 2176, 1, gateUp: false, fusedSilu: true, session10: true, H100).Taken);
        Assert.False(CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 27, 1, gateUp: true, fusedSilu: true, session10: true, H100).Taken);
    }

    [Fact]
    public void The_kernel_source_defines_the_kernels_with_the_rules_warps_and_occupancy()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels.gemv_quant_i4.cu")
            ?? throw new InvalidOperationException("gemv_quant_i4.cu is not embedded");
        string source = new StreamReader(stream).ReadToEnd();
        foreach (var (name, blocks, operands) in new[] { (CudaQuantI4.KernelName, CudaQuantI4.BlocksPerMultiprocessor, 1),
                     (CudaQuantI4.TwoStageKernelName, CudaQuantI4.TwoStageBlocksPerMultiprocessor, 1), (CudaQuantI4.Session9KernelName, CudaQuantI4.BlocksPerMultiprocessor, 0) })
        {
            var instance = Regex.Match(source, $@"^I4_KERNEL(?:_V)?\({name}, (\d+), (\d+), (\d+), (\d+)(?:, (\d+))?\)", RegexOptions.Multiline);
            Assert.True(instance.Success, $"{name} is not instanced in gemv_quant_i4.cu");
            Assert.Equal(CudaQuantI4.Warps, int.Parse(instance.Groups[1].Value));
            Assert.Equal(CudaQuantI4.StageTiles, 4 * int.Parse(instance.Groups[2].Value));
            Assert.Equal(blocks, int.Parse(instance.Groups[4].Value));
            Assert.Equal(operands, instance.Groups[5].Success ? int.Parse(instance.Groups[5].Value) : 0);
        }
    }
}
