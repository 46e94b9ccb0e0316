using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Xunit;
using K = Hearth.Backends.Cuda.CudaQuantK4Decode.Kernel;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which compact Q4_K decode launches take session 10's kernels (CudaQuantK4Decode) at Qwen3-14B's shapes on an H100
/// (132 SMs), which keep main's, and that the kernel source instances what the host launches.
/// </summary>
public class K4DecodeTests
{
    private const int H100 = 132;

    [Theory]
    [InlineData(448, 5120, 1, "S4")]       // q|k|v: 448 tiles are two waves at 3 blocks an SM
    [InlineData(448, 5120, 8, "S4")]
    [InlineData(320, 5120, 1, "W4D3")]     // o: one wave at 3 blocks an SM, two stages a warp in flight
    [InlineData(320, 5120, 8, "W4D3")]
    [InlineData(320, 17408, 1, "W4D3")]    // ffn_down: 4 warps, 3 buffers (main took 8 warps at 1-4 rows)
    [InlineData(320, 17408, 4, "W4D3")]
    [InlineData(320, 17408, 8, "W4D3")]
    [InlineData(396, 5120, 1, "W4D3")]     // exactly one wave at 3 blocks an SM
    [InlineData(397, 5120, 1, "S4")]
    [InlineData(2176, 5120, 1, "S4")]     // an unfused 14B gate|up
    public void The_14B_launches_take_the_kernel_measured_fastest(long tiles, int k, int rows, string expected)
    {
        Assert.Equal(expected, CudaQuantK4Decode.ChoosePlain(true, tiles, k, rows, H100, null).ToString());
    }

    [Theory]
    [InlineData(44, 17408, 1, null, "W4D3")]     // an unfused 24-row gate|up at the down's k: 4 warps, as the fused launch
    [InlineData(2176, 17408, 1, null, "S4")]
    [InlineData(44, 17408, 1, "s8", "W4D3")]
    [InlineData(44, 17408, 1, "w8d2", "W4D3")]   // even when forced
    [InlineData(44, 5120, 1, "w4d2", "W4D2")]
    public void Launches_of_several_parts_keep_four_warps(long tiles, int k, int rows, string? forced, string expected)
    {
        Assert.Equal(expected, CudaQuantK4Decode.ChoosePlain(true, tiles, k, rows, H100, CudaQuantK4Decode.ParseForced(forced), severalParts: true).ToString());
    }

    [Theory]
    [InlineData(false, 448, 5120, 1)]    // HEARTH_CUDA_K4_NEW=0
    [InlineData(true, 448, 5120, 0)]
    [InlineData(true, 448, 5120, 9)]     // 9+ rows: two launches of main's, or the GEMM
    [InlineData(true, 448, 640, 1)]      // k not whole 256-k stages
    [InlineData(true, 0, 5120, 1)]
    public void Launches_the_new_kernels_cannot_serve_keep_mains(bool enabled, long tiles, int k, int rows)
    {
        Assert.Equal(K.Main, CudaQuantK4Decode.ChoosePlain(enabled, tiles, k, rows, H100, null));
        Assert.Equal(K.Main, CudaQuantK4Decode.ChoosePlain(enabled, tiles, k, rows, H100, K.W4D3));
    }

    [Fact]
    public void A_forced_kernel_wins_over_the_rule_where_the_new_kernels_apply()
    {
        Assert.Equal(K.W4D2, CudaQuantK4Decode.ChoosePlain(true, 320, 17408, 1, H100, K.W4D2));
        Assert.Equal(K.W8D2, CudaQuantK4Decode.ChoosePlain(true, 40, 512, 3, H100, K.W8D2));
        Assert.Equal(K.W4D3, CudaQuantK4Decode.ParseForced(" W4D3 "));
        Assert.Null(CudaQuantK4Decode.ParseForced("main"));
        Assert.Equal(K.S8, CudaQuantK4Decode.ParseForced("s8"));
        Assert.False(CudaQuantK4Decode.IsStreamModule(K.S4));
        Assert.Null(CudaQuantK4Decode.ParseForced(null));
    }

    [Theory]
    [InlineData(true, 5120, 1, null, "W4D2")]    // the 14B gate|up at batch 1: 20 stages, 5 a warp
    [InlineData(true, 5120, 8, null, "S4")]
    [InlineData(true, 5120, 2, null, "S4")]
    [InlineData(true, 5120, 1, "s4", "S4")]
    [InlineData(true, 5120, 8, "w4d2", "W4D2")]
    [InlineData(true, 1024, 3, "w4d2", "W4D2")]
    [InlineData(true, 512, 1, null, "S4")]       // 2 stages: some warps would have none and miss the gate's meeting
    [InlineData(true, 17664, 1, "w4d2", "S4")]   // 69 stages: not the same count for every warp
    [InlineData(true, 5120, 1, "w4d3", "W4D2")]  // not a SiLU kernel: the rule
    [InlineData(true, 640, 1, null, "Main")]     // k not whole 256-k stages
    [InlineData(true, 5120, 9, null, "Main")]
    [InlineData(false, 5120, 1, null, "Main")]
    public void The_fused_gate_up_takes_w4d2_only_when_every_warp_gets_the_same_stages(bool enabled, int k, int rows, string? forced, string expected)
    {
        Assert.Equal(expected, CudaQuantK4Decode.ChooseSilu(enabled, k, rows, CudaQuantK4Decode.ParseForced(forced)).ToString());
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void The_switch_turns_the_new_kernels_off_only_at_zero(string? value, bool expected)
    {
        Assert.Equal(expected, CudaQuantK4Decode.ParseSetting(value));
    }

    [Fact]
    public void The_module_instances_every_kernel_the_host_launches_with_its_warps_and_waits_for_pdl()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + CudaQuantK4Decode.ModuleName)
            ?? throw new InvalidOperationException(CudaQuantK4Decode.ModuleName + " is not embedded");
        string source = new StreamReader(stream).ReadToEnd();
        Assert.Contains("HEARTH_PDL_WAIT()", source);
        foreach (var kernel in new[] { K.W4D2, K.W4D3, K.W8D2 })
        {
            Assert.True(CudaQuantK4Decode.IsStreamModule(kernel));
            var match = Regex.Match(source, $@"K4N_KERNEL\({CudaQuantK4Decode.KernelName(kernel)}, (\d+), (\d+), (\d+)\)");
            Assert.True(match.Success, CudaQuantK4Decode.KernelName(kernel));
            Assert.Equal(CudaQuantK4Decode.Warps(kernel), int.Parse(match.Groups[1].Value));
            Assert.Equal(CudaQuantK4Decode.BlocksPerMultiprocessor(kernel), int.Parse(match.Groups[3].Value));
        }
        var listed = ProgrammaticLaunchKernels.ByModule.Single(m => m.Module == CudaQuantK4Decode.ModuleName).Kernels;
        Assert.Equal(7, listed.Length);   // session 10's three, then session 11's gemv_k4m_*, gemv_g6m_* (G6DecodeTests)
        var kquant6 = ProgrammaticLaunchKernels.ByModule.Single(m => m.Module == "gemv_kquant6.cu").Kernels;
        foreach (string name in new[] { CudaQuantK4Decode.KernelName(K.S4), CudaQuantK4Decode.KernelName(K.S8), CudaQuantK4Decode.SiluS4Name, "gemv_k4g6_stream_fast" })
            Assert.Contains(name, kquant6);
    }

}
