using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Xunit;
using K = Hearth.Backends.Cuda.CudaQuantG6Decode.Kernel;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Session 11's compact GGUF decode rule (CudaQuantG6Decode) at Qwen3-14B's shapes on an H100 (132 SMs): which G6
/// launches take which kernel, when the fused K4 gate|up streams a range of tiles a block, the balanced grid, and that
/// the kernel sources instance what the host launches.
/// </summary>
public class G6DecodeTests
{
    private const int H100 = 132;

    [Theory]
    [InlineData(320, 17408, 1, "W4D3")]     // the Q6_K ffn_down: one wave at 3 blocks an SM (session 8 took 8 warps)
    [InlineData(320, 17408, 8, "W4D3")]
    [InlineData(64, 5120, 1, "W4D3")]       // attn_v alone
    [InlineData(396, 5120, 1, "W4D3")]      // exactly one wave at 3 blocks an SM
    [InlineData(397, 5120, 1, "S4")]
    [InlineData(9496, 5120, 1, "S4")]       // the lm_head
    public void The_14B_g6_launches_take_the_rule_s_kernel(long tiles, int k, int rows, string expected)
    {
        Assert.Equal(expected, CudaQuantG6Decode.ChoosePlain(true, tiles, k, rows, H100, null).ToString());
    }

    [Theory]
    [InlineData(false, 320, 17408, 1)]   // HEARTH_CUDA_G6_NEW=0
    [InlineData(true, 320, 17408, 0)]
    [InlineData(true, 320, 17408, 9)]    // 9+ rows: two launches of main's, or the GEMM
    [InlineData(true, 320, 640, 1)]      // k not whole 256-k stages
    [InlineData(true, 0, 5120, 1)]
    public void Launches_the_new_kernels_cannot_serve_keep_session_10_s(bool enabled, long tiles, int k, int rows)
    {
        Assert.Equal(K.Main, CudaQuantG6Decode.ChoosePlain(enabled, tiles, k, rows, H100, null));
        Assert.Equal(K.Main, CudaQuantG6Decode.ChoosePlain(enabled, tiles, k, rows, H100, K.M3));
    }

    [Theory]
    [InlineData(9496, 5120, "m3", "M3")]
    [InlineData(320, 17408, "s4", "S4")]
    [InlineData(40, 512, "m3", "W4D3")]      // 2 stages: warps would end a tile at different steps; one tile a block
    [InlineData(40, 768, "m2", "W4D2")]
    [InlineData(40, 1024, "m2", "M2")]
    public void A_forced_kernel_wins_where_it_can_serve(long tiles, int k, string forced, string expected)
    {
        Assert.Equal(expected, CudaQuantG6Decode.ChoosePlain(true, tiles, k, 1, H100, CudaQuantG6Decode.ParseForced(forced)).ToString());
    }

    [Theory]
    [InlineData(1088, 396, 363)]    // the 14B gate tiles at 3 blocks an SM: 3 rounds
    [InlineData(1088, 528, 363)]    // at 4 blocks an SM: still 3 rounds
    [InlineData(9496, 396, 396)]    // 24 rounds of 396
    [InlineData(320, 396, 320)]     // one tile a block
    [InlineData(397, 396, 199)]
    [InlineData(0, 396, 0)]
    public void The_balanced_grid_is_the_fewest_blocks_of_the_fewest_rounds(long tiles, long slots, long expected)
    {
        long blocks = CudaQuantG6Decode.BalancedBlocks(tiles, slots);
        Assert.Equal(expected, blocks);
        if (tiles == 0) return;
        Assert.True(blocks <= slots);
        long rounds = (tiles + slots - 1) / slots;
        Assert.True(blocks * rounds >= tiles && (blocks - 1) * rounds < tiles);
        // The kernel's ranges [b·T/B, (b + 1)·T/B) cover every tile once, none empty, sizes within one of each other.
        var sizes = Enumerable.Range(0, (int)blocks).Select(b => (b + 1) * tiles / blocks - b * tiles / blocks).ToArray();
        Assert.Equal(tiles, sizes.Sum());
        Assert.True(sizes.Min() >= 1 && sizes.Max() - sizes.Min() <= 1);
    }

    [Theory]
    [InlineData(true, 5120, 1, null, "M3")]      // the 14B gate|up at batch 1: 20 stages, 5 a warp
    [InlineData(true, 5120, 8, null, "M3")]
    [InlineData(true, 17408, 3, null, "M3")]     // 68 stages, 17 a warp
    [InlineData(true, 5120, 8, "m2", "M2")]
    [InlineData(true, 5120, 1, "main", "Main")]  // session 10's rule
    [InlineData(true, 5120, 1, "w4d3", "M3")]    // not a gate|up stream: the rule
    [InlineData(true, 512, 1, null, "Main")]     // 2 stages: warps would miss the gate's meeting
    [InlineData(true, 17664, 1, "m3", "Main")]   // 69 stages: not the same count for every warp
    [InlineData(true, 5120, 9, null, "Main")]
    [InlineData(false, 5120, 1, "m3", "Main")]
    public void The_fused_gate_up_streams_tile_ranges_only_when_every_warp_gets_the_same_stages(bool enabled, int k, int rows, string? forced, string expected)
    {
        Assert.Equal(expected, CudaQuantG6Decode.ChooseK4Silu(enabled, k, rows, CudaQuantG6Decode.ParseForced(forced)).ToString());
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void The_switch_turns_the_new_kernels_off_only_at_zero(string? value, bool expected) =>
        Assert.Equal(expected, CudaQuantG6Decode.ParseSetting(value));

    [Fact]
    public void The_modules_instance_every_kernel_the_host_launches_with_its_warps_buffers_and_waits_for_pdl()
    {
        string stream = Source(CudaQuantK4Decode.ModuleName);
        foreach (var (kernel, g6) in new[] { (K.W4D3, true), (K.W4D2, true), (K.M3, false), (K.M2, false) })
        {
            string name = CudaQuantG6Decode.KernelName(kernel, g6);
            Assert.True(CudaQuantG6Decode.IsStreamModule(kernel));
            var match = Regex.Match(stream, $@"KQM_KERNEL\({name}, (\d+), (\d+), (\d+), (true|false), \d\)");
            Assert.True(match.Success, name);
            Assert.Equal(CudaQuantG6Decode.Warps, int.Parse(match.Groups[1].Value));
            Assert.Equal(kernel is K.W4D3 or K.M3 ? 3 : 2, int.Parse(match.Groups[2].Value));
            Assert.Equal(CudaQuantG6Decode.BlocksPerMultiprocessor(kernel), int.Parse(match.Groups[3].Value));
            Assert.Equal(g6 ? "true" : "false", match.Groups[4].Value);
            Assert.Contains(name, ProgrammaticLaunchKernels.ByModule.Single(m => m.Module == CudaQuantK4Decode.ModuleName).Kernels);
        }
        string kquant6 = Source("gemv_kquant6.cu");
        var listed = ProgrammaticLaunchKernels.ByModule.Single(m => m.Module == "gemv_kquant6.cu").Kernels;
        foreach (string name in new[] { CudaQuantG6Decode.KernelName(K.S4, true), "gemv_silu_g6_stream_fast", "gemv_k4g6_stream_g6f", "gemv_k4g6_stream_fast_g6f" })
        {
            Assert.Matches($@"\b{name}\b", kquant6);
            Assert.Contains(name, listed);
        }
        // The stream loads its first stages (weights and params) before the wait, x only after it.
        int wait = stream.IndexOf("HEARTH_PDL_WAIT();", stream.IndexOf("kqm_body(", StringComparison.Ordinal), StringComparison.Ordinal);
        int firstX = stream.IndexOf("xRow", stream.IndexOf("kqm_body(", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(wait > 0 && firstX > wait);
    }

    private static string Source(string module)
    {
        using Stream s = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + module)
            ?? throw new InvalidOperationException(module + " is not embedded");
        return new StreamReader(s).ReadToEnd();
    }
}
